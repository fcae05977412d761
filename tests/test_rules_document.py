"""Rules as a document: a YAML/JSON round trip with every target type, scoring and settings;
rules keep their ids across imports; bad documents name the rule and the place of each
mistake and change nothing; `leadtrack rules export` and `leadtrack rules import`.

Documents go through the real services (`rules_document.parse/apply/export`), and the CLI
through click's runner bound to the test app, as tests/test_processes.py's commands are
bound through the environment."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from leadtrack.cli import cli
from leadtrack.extensions import db
from leadtrack.models import Organization, RuleKind, RuleVersion
from leadtrack.services import rule_book, rules_document, units
from leadtrack.services.errors import ValidationError
from leadtrack.services.history import Actor

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def org(ctx, tenant) -> Organization:
    return db.session.get(Organization, tenant.org.id)


def full_document(tenant) -> dict:
    """Every kind of target, every setting, scoring rules; the examples of docs/rules.md."""
    return {
        "settings": {
            "return_policy": "catch_up",
            "hot_from": 50,
            "warm_from": 20,
            "priority_from": {"urgent": 70, "high": 40},
            "fallback": {"queue": "North"},
            "task_daily_cap": 3,
        },
        "assignment": [
            {
                "name": "Web info requests to fulfilment",
                "enabled": True,
                "when": {
                    "all": [
                        {"field": "source", "op": "is", "value": "web"},
                        {"field": "intake_form", "op": "is", "value": "Information request"},
                    ]
                },
                "assign": {"team": "Harbour", "method": "round_robin"},
            },
            {
                "name": "Quote requests round-robin to sales",
                "enabled": True,
                "when": {"field": "intake_form", "op": "is", "value": "Quote request"},
                "assign": {
                    "team": "Main Street",
                    "method": "round_robin",
                    "weights": {tenant.agent.email: 2},
                },
            },
            {
                "name": "Walk-ins assigned by hand",
                "enabled": True,
                "when": {"field": "source", "op": "in", "value": ["walk-in", "phone"]},
                "assign": {"queue": "Main Street"},
            },
            {
                "name": "Big deals to senior reps",
                "enabled": True,
                "when": {"field": "value", "op": "gte", "value": 50000},
                "assign": {"user": tenant.store_manager.email, "hours": False},
            },
            {
                "name": "Small deals to inside sales",
                "enabled": False,
                "when": {"field": "value", "op": "lt", "value": 5000},
                "assign": {"team": "Harbour", "method": "fewest_open"},
            },
            {
                "name": "District to store",
                "enabled": True,
                "when": {"field": "district", "op": "is_set"},
                "assign": {
                    "by_field": "district",
                    "map": {"Hafen": "Harbour", "Mitte": "Main Street"},
                    "method": "fewest_open",
                    "otherwise": "North",
                },
            },
            {
                "name": "Nights and weekends",
                "enabled": True,
                "when": {
                    "any": [
                        {"field": "time_of_day", "op": "between", "value": ["22:00", "06:00"]},
                        {"not": {"field": "weekday", "op": "in", "value": ["mon", "tue", "wed"]}},
                    ]
                },
                "assign": {"queue": None},
            },
        ],
        "scoring": [
            {
                "name": "Web leads",
                "enabled": True,
                "when": {"field": "source", "op": "is", "value": "web"},
                "points": 10,
            },
            {
                "name": "Big value",
                "enabled": True,
                "when": {"field": "value", "op": "gte", "value": 50000},
                "points": 40,
            },
            {
                "name": "Not a tyre kicker",
                "enabled": True,
                "when": {"field": "tags", "op": "has_none", "value": ["browsing"]},
                "points": -5,
            },
        ],
        "response": [],
        "aging": [],
        "reclaim": [],
        "auto_close": [],
        "tasks": [],
    }


def apply(org: Organization, document, via: str = "cli") -> RuleVersion:
    version = rules_document.apply(db.session, org, document, Actor(org.id, via=via), NOW)
    db.session.commit()
    return version


def rule_ids(org: Organization) -> dict[str, int]:
    return {
        rule.name: rule.id
        for kind in RuleKind
        for rule in rule_book.rules_of(db.session, org.id, kind)
    }


def version_count(org: Organization) -> int:
    return db.session.scalar(
        select(func.count()).select_from(RuleVersion).where(RuleVersion.org_id == org.id)
    )


def errors_of(org: Organization, document) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        rules_document.apply(db.session, org, document, Actor(org.id, via="cli"), NOW)
    db.session.rollback()
    return caught.value.errors


def one_rule(**rule) -> dict:
    return {"assignment": [{"name": "Big deals", "assign": {"queue": None}, **rule}]}


# -- round trip ---------------------------------------------------------------------------


def test_export_is_what_was_applied_and_survives_yaml_and_json(org, tenant):
    document = full_document(tenant)
    version = apply(org, document)
    assert version.version == 1 and version.via == "cli"
    assert "added assignment rule “Big deals to senior reps”" in version.summary

    exported = rules_document.export(db.session, org)
    assert exported == document
    assert version.document == exported
    for fmt in ("yaml", "json"):
        assert rules_document.parse(rules_document.dump(exported, fmt), fmt) == exported
    text = rules_document.dump(exported, "yaml")
    assert "- name: Web info requests to fulfilment\n" in text
    assert "'22:00'" in text  # quoted: unquoted 22:00 would read back as a number


def test_applying_the_export_again_bumps_the_version_and_keeps_the_rule_ids(org, tenant):
    apply(org, full_document(tenant))
    before_ids = rule_ids(org)
    exported = rules_document.export(db.session, org)

    again = apply(org, rules_document.parse(rules_document.dump(exported, "yaml"), "yaml"))
    assert again.version == 2
    assert again.summary == "no change"
    assert rule_ids(org) == before_ids
    assert rules_document.export(db.session, org) == exported
    assert rule_book.settings_of(db.session, org.id).version == 2


def test_a_rule_renamed_with_its_id_keeps_it_and_reordering_is_recorded(org, tenant):
    apply(org, full_document(tenant))
    ids = rule_ids(org)
    document = rules_document.export(db.session, org)
    big = document["assignment"][3]
    big["id"], big["name"] = ids["Big deals to senior reps"], "Big deals to the store manager"
    document["assignment"].reverse()

    version = apply(org, document)
    assert rule_ids(org)["Big deals to the store manager"] == ids["Big deals to senior reps"]
    assert "reordered the assignment rules" in version.summary
    assert "added assignment rule “Big deals to the store manager”" in version.summary
    names = [r["name"] for r in rules_document.export(db.session, org)["assignment"]]
    assert names[0] == "Nights and weekends" and names[-1] == "Web info requests to fulfilment"


def test_removed_rules_go_and_a_partial_document_takes_the_defaults(org, tenant):
    apply(org, full_document(tenant))
    version = apply(org, {"assignment": [full_document(tenant)["assignment"][0]]})
    exported = rules_document.export(db.session, org)
    assert [r["name"] for r in exported["assignment"]] == ["Web info requests to fulfilment"]
    assert exported["scoring"] == []
    assert exported["settings"] == {
        "return_policy": "fresh_start",
        "hot_from": 60,
        "warm_from": 30,
        "priority_from": {"urgent": 80, "high": 50},
        "fallback": {"queue": None},
        "task_daily_cap": 3,
    }
    assert "removed scoring rule “Web leads”" in version.summary


def test_units_with_the_same_name_are_written_by_path(org, tenant):
    south = units.create_unit(db.session, org, name="South", kind="area")
    units.create_unit(db.session, org, name="Central", kind="store", parent_id=tenant.area.id)
    units.create_unit(db.session, org, name="Central", kind="store", parent_id=south.id)
    db.session.commit()
    apply(org, one_rule(assign={"team": "south / central"}))
    exported = rules_document.export(db.session, org)
    assert exported["assignment"][0]["assign"]["team"] == "South / Central"


def test_every_version_is_kept_newest_first(org, tenant):
    apply(org, full_document(tenant), via="cli")
    apply(org, {"assignment": []}, via="api")
    found = rules_document.versions(db.session, org.id)
    assert [(v.version, v.via) for v in found] == [(2, "api"), (1, "cli")]
    assert found[1].document["assignment"][0]["name"] == "Web info requests to fulfilment"
    assert found[0].document["assignment"] == []


# -- precise errors -----------------------------------------------------------------------


def test_an_unknown_field_is_named_with_the_rule(org):
    errors = errors_of(org, one_rule(when={"field": "colour", "op": "is", "value": "red"}))
    assert errors == {"assignment[0].when": "rule 'Big deals': unknown field 'colour'."}


def test_an_operator_the_fields_kind_does_not_take(org):
    errors = errors_of(
        org,
        {
            "assignment": [
                {"name": "Ok", "assign": {"queue": None}},
                {
                    "name": "Big deals",
                    "when": {"all": [{"field": "value", "op": "contains", "value": "5"}]},
                    "assign": {"queue": None},
                },
            ]
        },
    )
    assert list(errors) == ["assignment[1].when.all[0]"]
    message = errors["assignment[1].when.all[0]"]
    assert message.startswith("rule 'Big deals': value cannot use 'contains'; use one of is,")
    assert "between" in message


def test_a_bad_value_for_the_fields_kind(org):
    errors = errors_of(
        org, one_rule(when={"field": "time_of_day", "op": "between", "value": ["9am", "17:00"]})
    )
    assert errors == {"assignment[0].when": "rule 'Big deals': time_of_day: use a time as HH:MM."}


def test_an_unknown_unit(org):
    errors = errors_of(org, one_rule(assign={"team": "Nowhere"}))
    assert errors == {"assignment[0].assign.team": "rule 'Big deals': there is no unit “Nowhere”."}


def test_an_ambiguous_unit_name_says_which_paths_to_write(org, tenant):
    south = units.create_unit(db.session, org, name="South", kind="area")
    units.create_unit(db.session, org, name="Central", kind="store", parent_id=tenant.area.id)
    units.create_unit(db.session, org, name="Central", kind="store", parent_id=south.id)
    db.session.commit()
    errors = errors_of(org, one_rule(assign={"queue": "Central"}))
    assert errors == {
        "assignment[0].assign.queue": "rule 'Big deals': several units are called “Central”; "
        "write “North / Central” or “South / Central”."
    }


def test_an_unknown_e_mail(org, tenant):
    errors = errors_of(
        org,
        {
            "assignment": [
                {"name": "Big deals", "assign": {"user": "nobody@example.com"}},
                {"name": "Team", "assign": {"team": "Harbour", "weights": {"ghost@x.com": 2}}},
            ]
        },
    )
    assert errors == {
        "assignment[0].assign.user": "rule 'Big deals': nobody here has the e-mail "
        "'nobody@example.com'.",
        "assignment[1].assign.weights": "rule 'Team': nobody here has the e-mail 'ghost@x.com'.",
    }


def test_duplicate_rule_names_ignore_case(org):
    errors = errors_of(
        org,
        {
            "assignment": [
                {"name": "Big deals", "assign": {"queue": None}},
                {"name": "BIG DEALS", "assign": {"queue": None}},
            ],
            "scoring": [{"name": "Big deals", "points": 5}],  # another section: fine
        },
    )
    assert errors == {
        "assignment[1].name": "rule 'BIG DEALS': another assignment rule has this name."
    }


@pytest.mark.parametrize("points", ["ten", 2.5, True, None, 5000])
def test_points_must_be_a_whole_number_in_range(org, points):
    errors = errors_of(org, {"scoring": [{"name": "Web", "points": points}]})
    assert errors == {
        "scoring[0].points": "rule 'Web': give points as a whole number from -1000 to 1000."
    }


def test_unknown_keys_sections_and_settings(org):
    errors = errors_of(
        org,
        {
            "rules": [],
            "settings": {"hot_from": "high", "colour": "red", "return_policy": "flood"},
            "assignment": [{"name": "A", "assign": {"queue": None, "method": "round_robin"}}],
            "scoring": [{"name": "B", "points": 1, "assign": {"queue": None}}],
        },
    )
    assert errors == {
        "rules": "Unknown section; use settings, assignment, scoring, response, aging, reclaim, "
        "auto_close, tasks.",
        "settings.colour": "Unknown setting; use fallback, hot_from, priority_from, "
        "return_policy, task_daily_cap, warm_from.",
        "settings.return_policy": "Use fresh_start or catch_up.",
        "settings.hot_from": "Give a whole number of points.",
        "assignment[0].assign.method": "rule 'A': method does not go with queue.",
        "scoring[0].assign": "rule 'B': unknown key; use enabled, name, points, when.",
    }


def test_invalid_yaml_names_the_line():
    text = "assignment:\n  - name: Big deals\n    when: {field: value, op: gte\n    assign: x\n"
    with pytest.raises(ValidationError) as caught:
        rules_document.parse(text, "yaml")
    message = caught.value.errors["document"]
    assert message.startswith("Not valid YAML: line 4: ")


def test_invalid_json_names_the_line():
    with pytest.raises(ValidationError) as caught:
        rules_document.parse('{\n  "assignment": [\n}', "json")
    assert caught.value.errors["document"].startswith("Not valid JSON: line 3: ")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just words", "42"])
def test_a_document_must_be_a_mapping(text):
    with pytest.raises(ValidationError) as caught:
        rules_document.parse(text, "yaml")
    assert caught.value.errors == {
        "document": "Expected a mapping with settings, assignment, scoring."
    }


# -- all or nothing -----------------------------------------------------------------------


def test_one_bad_rule_among_good_ones_changes_nothing(org, tenant):
    apply(org, full_document(tenant))
    before, ids = rules_document.export(db.session, org), rule_ids(org)

    document = full_document(tenant)
    document["settings"]["hot_from"] = 90
    document["assignment"].insert(0, {"name": "New and fine", "assign": {"team": "North"}})
    document["assignment"][4]["assign"] = {"user": "left-the-company@example.com"}
    errors = errors_of(org, document)
    assert list(errors) == ["assignment[4].assign.user"]
    assert "rule 'Big deals to senior reps'" in errors["assignment[4].assign.user"]

    assert rules_document.export(db.session, org) == before
    assert rule_ids(org) == ids
    assert version_count(org) == 1
    assert rule_book.settings_of(db.session, org.id).version == 1


# -- service bugs found while writing the API (see the report; fixes proposed there) ------

CRASHERS = {
    "bad child condition": one_rule(when={"all": [{"field": "source"}]}),
    "children not a list": one_rule(when={"any": "web"}),
    "op is a list": one_rule(when={"field": "source", "op": ["is"], "value": "web"}),
    "by_field is a list": one_rule(assign={"by_field": ["district"], "map": {"a": "North"}}),
    "return_policy is a list": {"settings": {"return_policy": ["catch_up"]}},
    "value not finite": one_rule(when={"field": "district", "op": "is", "value": float("nan")}),
    "NUL in a name": {"scoring": [{"name": "a\x00b", "points": 1}]},
}


@pytest.mark.parametrize("document", CRASHERS.values(), ids=CRASHERS.keys())
def test_malformed_documents_are_refused_not_crashed_on(org, document):
    errors_of(org, document)


# -- the command line -----------------------------------------------------------------------


def run(app, *args: str):
    return app.test_cli_runner().invoke(cli, list(args))


def test_cli_exports_yaml_to_stdout_and_json_to_a_file(app, tenant, tmp_path):
    with app.app_context():
        apply(db.session.get(Organization, tenant.org.id), full_document(tenant))

    result = run(app, "rules", "export", "--org", "acme")
    assert result.exit_code == 0, result.output
    assert rules_document.parse(result.stdout, "yaml") == full_document(tenant)

    target = tmp_path / "rules.json"
    result = run(app, "rules", "export", "--org", "acme", "--format", "json", "--output", target)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Rules of acme written to {target}\n"
    assert json.loads(target.read_text(encoding="utf-8")) == full_document(tenant)


def test_cli_import_applies_and_says_the_new_version(app, tenant, tmp_path):
    source = tmp_path / "rules.yaml"
    source.write_text(rules_document.dump(full_document(tenant), "yaml"), encoding="utf-8")
    result = run(app, "rules", "import", "--org", "acme", str(source))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Rules of acme are now version 1: changed the settings; ")
    assert "added assignment rule “Web info requests to fulfilment”" in result.stdout

    as_json = tmp_path / "rules.json"
    as_json.write_text(json.dumps({"assignment": []}), encoding="utf-8")
    result = run(app, "rules", "import", "--org", "acme", str(as_json))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Rules of acme are now version 2: changed the settings; ")
    assert "removed assignment rule “Web info requests to fulfilment”" in result.stdout
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        latest = rules_document.versions(db.session, org.id)[0]
        assert (latest.version, latest.via, latest.actor_id) == (2, "cli", None)


def test_cli_import_of_a_bad_document_prints_each_mistake_and_changes_nothing(
    app, tenant, tmp_path
):
    with app.app_context():
        apply(db.session.get(Organization, tenant.org.id), full_document(tenant))
    document = full_document(tenant)
    document["assignment"][1]["assign"]["team"] = "Nowhere"
    document["scoring"][0]["points"] = "lots"
    source = tmp_path / "rules.yaml"
    source.write_text(rules_document.dump(document, "yaml"), encoding="utf-8")

    result = run(app, "rules", "import", "--org", "acme", str(source))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "assignment[1].assign.team: rule 'Quote requests round-robin to sales': there is no "
        "unit “Nowhere”.",
        "scoring[0].points: rule 'Web leads': give points as a whole number from -1000 to 1000.",
    ]
    with app.app_context():
        org = db.session.get(Organization, tenant.org.id)
        assert rules_document.export(db.session, org) == full_document(tenant)
        assert version_count(org) == 1


def test_cli_import_of_broken_yaml_names_the_line(app, tenant, tmp_path):
    source = tmp_path / "rules.yaml"
    source.write_text("assignment:\n  - name: [unclosed\n", encoding="utf-8")
    result = run(app, "rules", "import", "--org", "acme", str(source))
    assert result.exit_code == 1
    assert result.stderr.startswith("document: Not valid YAML: line 3: ")

    source.write_bytes(b"assignment: \xff\n")
    result = run(app, "rules", "import", "--org", "acme", str(source))
    assert (result.exit_code, result.stderr) == (1, "document: The file is not UTF-8 text.\n")


def test_cli_names_an_unknown_organization(app, tenant, tmp_path):
    source = tmp_path / "rules.yaml"
    source.write_text("assignment: []\n", encoding="utf-8")
    for args in (("export", "--org", "nope"), ("import", "--org", "nope", str(source))):
        result = run(app, "rules", *args)
        assert result.exit_code == 1
        assert "organization nope" in result.stderr
