"""The condition language: every kind of field, every operator, the groups, the checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from leadtrack.services.conditions import (
    Catalog,
    ConditionError,
    FieldSpec,
    Kind,
    check,
    compile_condition,
    describe,
    normalize,
)

CATALOG = Catalog()
for spec in (
    FieldSpec("source", "Source", Kind.CHOICE, ("web", "phone", "walk-in")),
    FieldSpec("company", "Company", Kind.TEXT),
    FieldSpec("value", "Value", Kind.NUMBER),
    FieldSpec("tags", "Tags", Kind.TAGS),
    FieldSpec("has_email", "Has an e-mail", Kind.FLAG),
    FieldSpec("time_of_day", "Time of day", Kind.TIME),
    FieldSpec("weekday", "Weekday", Kind.WEEKDAY),
    FieldSpec("unit", "Unit", Kind.UNIT, ("North", "Main Street", "North / Main Street")),
):
    CATALOG.add(spec)

MAIN_STREET = (frozenset({"north"}), frozenset({"main street", "north / main street"}))


def holds(condition, **facts) -> bool:
    return compile_condition(condition, CATALOG)(facts)


def leaf(field, op, value=None):
    node = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    return node


class TestOperators:
    def test_choice_and_text_compare_without_case(self):
        assert holds(leaf("source", "is", "Web"), source="web")
        assert not holds(leaf("source", "is", "web"), source="phone")
        assert holds(leaf("source", "in", ["web", "phone"]), source="PHONE")
        assert holds(leaf("source", "not_in", ["web"]), source="phone")
        assert holds(leaf("source", "is_not", "web"), source=None)
        assert holds(leaf("company", "contains", "motor"), company="Northwind Motors")
        assert holds(leaf("company", "starts_with", "north"), company="Northwind Motors")
        assert not holds(leaf("company", "starts_with", "motors"), company="Northwind Motors")

    def test_empty_and_filled(self):
        assert holds(leaf("company", "is_empty"), company="")
        assert holds(leaf("company", "is_empty"), company=None)
        assert holds(leaf("company", "is_set"), company="Acme")
        assert holds(leaf("tags", "is_empty"), tags=[])
        assert holds(leaf("value", "is_set"), value=Decimal("1"))

    def test_numbers(self):
        assert holds(leaf("value", "gte", 50000), value=Decimal("50000"))
        assert not holds(leaf("value", "gt", 50000), value=Decimal("50000"))
        assert holds(leaf("value", "lt", "1000.50"), value=Decimal("1000.49"))
        assert holds(leaf("value", "lte", 10), value=10)
        assert holds(leaf("value", "between", [5000, 1000]), value=Decimal("2500"))
        assert not holds(leaf("value", "between", [1000, 5000]), value=Decimal("5000.01"))
        assert not holds(leaf("value", "gte", 0), value=None), "a missing value matches nothing"
        assert holds(leaf("value", "is_not", 5), value=None)

    def test_tags(self):
        assert holds(leaf("tags", "has", "VIP"), tags=["vip", "spring"])
        assert holds(leaf("tags", "has_any", ["x", "spring"]), tags=["vip", "spring"])
        assert not holds(leaf("tags", "has_all", ["vip", "x"]), tags=["vip", "spring"])
        assert holds(leaf("tags", "has_none", ["x", "y"]), tags=["vip"])

    def test_flags(self):
        assert holds(leaf("has_email", "is", True), has_email=True)
        assert holds(leaf("has_email", "is", False), has_email=False)

    def test_time_of_day_wraps_past_midnight(self):
        night = leaf("time_of_day", "between", ["22:00", "06:00"])
        assert holds(night, time_of_day=23 * 60)
        assert holds(night, time_of_day=5 * 60 + 59)
        assert not holds(night, time_of_day=6 * 60)
        day = leaf("time_of_day", "between", ["09:00", "17:00"])
        assert holds(day, time_of_day=9 * 60) and not holds(day, time_of_day=17 * 60)
        assert holds(leaf("time_of_day", "before", "12:00"), time_of_day=11 * 60 + 59)
        assert holds(leaf("time_of_day", "after", "12:00"), time_of_day=12 * 60)

    def test_weekdays(self):
        weekend = leaf("weekday", "in", ["sat", "Sunday"])
        assert holds(weekend, weekday=6) and holds(weekend, weekday=5)
        assert not holds(weekend, weekday=0)
        assert holds(leaf("weekday", "not_in", ["mon"]), weekday=1)

    def test_units_match_exactly_or_within(self):
        assert holds(leaf("unit", "is", "Main Street"), unit=MAIN_STREET)
        assert holds(leaf("unit", "is", "north / main street"), unit=MAIN_STREET)
        assert not holds(leaf("unit", "is", "North"), unit=MAIN_STREET)
        assert holds(leaf("unit", "within", "North"), unit=MAIN_STREET)
        assert holds(leaf("unit", "not_in", ["North"]), unit=MAIN_STREET)
        assert holds(leaf("unit", "is_empty"), unit=())

    def test_aliases(self):
        assert holds({"field": "value", "op": ">=", "value": 10}, value=10)
        assert normalize({"field": "value", "op": ">=", "value": 10})["op"] == "gte"


class TestGroups:
    def test_all_any_not(self):
        web = leaf("source", "is", "web")
        big = leaf("value", "gte", 50000)
        assert holds({"all": [web, big]}, source="web", value=60000)
        assert not holds({"all": [web, big]}, source="web", value=10)
        assert holds({"any": [web, big]}, source="phone", value=60000)
        assert holds({"not": web}, source="phone")
        nested = {"all": [web, {"any": [big, leaf("tags", "has", "vip")]}]}
        assert holds(nested, source="web", value=0, tags=["vip"])

    def test_an_empty_condition_holds_for_every_lead(self):
        assert holds({}, source="web")
        assert holds({"all": []})
        assert not holds({"any": []})
        assert describe({}) == "every lead"


class TestChecks:
    def test_each_mistake_is_named_with_its_path(self):
        condition = {
            "all": [
                leaf("valu", "gte", 5),
                leaf("source", "gte", "web"),
                leaf("value", "gte", "lots"),
                leaf("source", "is", "fax"),
                leaf("time_of_day", "between", ["9", "17:00"]),
                leaf("weekday", "in", ["someday"]),
                leaf("tags", "has_any", []),
                {"field": "value", "op": "gte"},
                {"any": "web"},
            ]
        }
        errors = check(condition, CATALOG)
        assert errors == [
            "when.all[0]: unknown field 'valu'.",
            "when.all[1]: source cannot use 'gte'; use one of is, is_not, in, not_in, is_empty, "
            "is_set.",
            "when.all[2]: value: 'lots' is not a number.",
            "when.all[3]: source: unknown source 'fax' (known: web, phone, walk-in).",
            "when.all[4]: time_of_day: use a time as HH:MM.",
            "when.all[5]: weekday: 'someday' is not a weekday (mon … sun).",
            "when.all[6]: tags: has_any needs a list of values.",
            "when.all[7]: value gte needs a value.",
            "when.all[8].any: expected a list of conditions.",
        ]

    def test_compiling_a_bad_condition_refuses(self):
        with pytest.raises(ConditionError) as raised:
            compile_condition(leaf("nope", "is", 1), CATALOG)
        assert raised.value.errors == ["when: unknown field 'nope'."]

    def test_too_deep_is_refused(self):
        node: dict = leaf("source", "is", "web")
        for _ in range(8):
            node = {"not": node}
        assert any("nested more than" in e for e in check(node, CATALOG))


def test_describe_reads_like_a_sentence():
    condition = {
        "all": [leaf("source", "in", ["web", "phone"]), leaf("value", "between", [1000, 5000])]
    }
    assert describe(condition, CATALOG) == (
        "(Source is one of web, phone and Value between 1000 and 5000)"
    )
    assert describe(leaf("company", "is_empty"), CATALOG) == "Company is empty"
