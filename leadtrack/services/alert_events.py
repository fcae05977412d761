"""What LeadTrack tells people about: each event, who may be told on which channels by
default, whether it is urgent (goes through quiet hours when the organization says so), the
placeholders its texts may use, and the default texts an organization may replace."""

from __future__ import annotations

from dataclasses import dataclass

from leadtrack.models import ChannelName

EMAIL, SMS, VOICE, WEBHOOK, IN_APP = (
    ChannelName.EMAIL,
    ChannelName.SMS,
    ChannelName.VOICE,
    ChannelName.WEBHOOK,
    ChannelName.IN_APP,
)
USER_CHANNELS = (EMAIL, SMS, VOICE, WEBHOOK, IN_APP)

LEAD_PLACEHOLDERS = (
    ("lead.name", "the contact's name"),
    ("lead.company", "company"),
    ("lead.phone", "first phone number"),
    ("lead.email", "first e-mail address"),
    ("lead.source", "source, e.g. web"),
    ("lead.status", "status name"),
    ("lead.temperature", "hot, warm or cold"),
    ("lead.value", "value, formatted"),
    ("lead.product", "product of interest"),
    ("lead.assignee", "the person the lead is assigned to"),
    ("lead.created_at", "when it arrived, in the recipient's time zone"),
    ("lead.id", "the lead's number"),
    ("links.view", "link that opens the lead"),
    ("links.ack", "one-click link: I'm on it"),
)
COMMON_PLACEHOLDERS = (
    ("recipient.name", "the person reading this"),
    ("recipient.first_name", "their first name"),
    ("org.name", "your organization"),
    ("links.preferences", "link to the recipient's alert settings"),
)


@dataclass(frozen=True)
class AlertEvent:
    key: str
    label: str
    urgent: bool
    default_channels: tuple[ChannelName, ...]
    subject: str  # also the title of in-app and chat alerts
    body: str  # the e-mail text; SMS, calls and chat use `short`
    short: str
    about_lead: bool = True
    details: tuple[tuple[str, str], ...] = ()  # event-specific placeholders

    @property
    def placeholders(self) -> tuple[tuple[str, str], ...]:
        lead = LEAD_PLACEHOLDERS if self.about_lead else ()
        return COMMON_PLACEHOLDERS + lead + self.details

    def default_text(self, channel: ChannelName) -> tuple[str, str]:
        """(subject, body) this event says on this channel unless the organization edits it."""
        match ChannelName(channel):
            case ChannelName.EMAIL:
                return self.subject, self.body
            case ChannelName.SMS:
                link = " {{ links.view }}" if self.about_lead else ""
                return "", self.short + link
            case ChannelName.VOICE:
                # The subject, not the short text: a phone number read aloud is noise.
                return (
                    "",
                    "Hello {{ recipient.first_name }}, this is LeadTrack. " + self.subject + ".",
                )
            case ChannelName.WEBHOOK:
                link = " {{ links.view }}" if self.about_lead else ""  # Slack and Teams link it
                return self.subject, self.short + link
            case _:
                return self.subject, self.short


_LEAD_FACTS = """

Name: {{ lead.name }}{% if lead.company %} ({{ lead.company }}){% endif %}
Phone: {{ lead.phone or "—" }}
E-mail: {{ lead.email or "—" }}
Source: {{ lead.source }}{% if lead.product %} · Product: {{ lead.product }}{% endif %}
{% if lead.value %}Value: {{ lead.value }}
{% endif %}"""

EVENTS: dict[str, AlertEvent] = {
    event.key: event
    for event in (
        AlertEvent(
            "lead_assigned",
            "Lead assigned to you",
            urgent=False,
            default_channels=(EMAIL, IN_APP),
            subject="New lead for you: {{ lead.name }}",
            body="Hello {{ recipient.first_name }},\n\n"
            "a new lead is yours. Please get in touch soon."
            + _LEAD_FACTS
            + "\nOpen it: {{ links.view }}\nI'm on it: {{ links.ack }}\n",
            short="New lead: {{ lead.name }}{% if lead.phone %}, {{ lead.phone }}{% endif %}.",
            details=(("details.reason", "why it went to this person"),),
        ),
        AlertEvent(
            "lead_reassigned",
            "Lead reassigned to you",
            urgent=False,
            default_channels=(EMAIL, IN_APP),
            subject="Lead passed to you: {{ lead.name }}",
            body="Hello {{ recipient.first_name }},\n\n"
            "{{ lead.name }} was passed to you"
            "{% if details.previous %} from {{ details.previous }}{% endif %}."
            + _LEAD_FACTS
            + "\nOpen it: {{ links.view }}\nI'm on it: {{ links.ack }}\n",
            short="Lead passed to you: {{ lead.name }}.",
            details=(
                ("details.previous", "who had it before"),
                ("details.reason", "why it moved"),
            ),
        ),
        AlertEvent(
            "lead_queued",
            "Lead waiting in your team's queue",
            urgent=False,
            default_channels=(EMAIL, IN_APP),
            subject="Nobody could take {{ lead.name }}: it waits in {{ details.unit }}",
            body="Hello {{ recipient.first_name }},\n\n"
            "the assignment rules found nobody available for {{ lead.name }}, so it waits in "
            "the queue of {{ details.unit }}. Please give it to someone.\n\n"
            "Why: {{ details.reason }}" + _LEAD_FACTS + "\nOpen it: {{ links.view }}\n",
            short="{{ lead.name }} waits in the {{ details.unit }} queue: nobody available.",
            details=(
                ("details.unit", "the unit whose queue holds the lead"),
                ("details.reason", "why nobody could take it"),
            ),
        ),
        AlertEvent(
            "response_warning",
            "Response time running out",
            urgent=True,
            default_channels=(EMAIL, SMS, IN_APP),
            subject="{{ details.minutes_left }} minutes left to respond to {{ lead.name }}",
            body="Hello {{ recipient.first_name }},\n\n"
            "{{ lead.name }} has not had a response yet. The deadline is "
            "{{ details.deadline }} ({{ details.minutes_left }} minutes from now)."
            + _LEAD_FACTS
            + "\nOpen it: {{ links.view }}\nI'm on it: {{ links.ack }}\n",
            short="{{ details.minutes_left }} min left to respond to {{ lead.name }}.",
            details=(
                ("details.deadline", "the response deadline"),
                ("details.minutes_left", "minutes until the deadline"),
            ),
        ),
        AlertEvent(
            "escalated_tier2",
            "Escalated to you (tier 2)",
            urgent=True,
            default_channels=(EMAIL, SMS, IN_APP),
            subject="Escalation: {{ lead.name }} has had no response",
            body="Hello {{ recipient.first_name }},\n\n"
            "{{ lead.assignee or 'Nobody' }} has not responded to {{ lead.name }} in time, "
            "so it comes to you as the backup."
            + _LEAD_FACTS
            + "\nOpen it: {{ links.view }}\nI'm on it: {{ links.ack }}\n",
            short="Escalation: no response to {{ lead.name }} yet.",
            details=(("details.deadline", "the deadline that was missed"),),
        ),
        AlertEvent(
            "escalated_tier3",
            "Escalated to you (tier 3)",
            urgent=True,
            default_channels=(EMAIL, SMS, IN_APP),
            subject="Second escalation: {{ lead.name }} is still waiting",
            body="Hello {{ recipient.first_name }},\n\n"
            "{{ lead.name }} is still waiting for a response after the backup was alerted."
            + _LEAD_FACTS
            + "\nOpen it: {{ links.view }}\nI'm on it: {{ links.ack }}\n",
            short="Second escalation: {{ lead.name }} is still waiting.",
            details=(("details.deadline", "the deadline that was missed"),),
        ),
        AlertEvent(
            "follow_up_due",
            "Follow-up due",
            urgent=False,
            default_channels=(EMAIL, IN_APP),
            subject="Follow up with {{ lead.name }}",
            body="Hello {{ recipient.first_name }},\n\n"
            "you planned to follow up with {{ lead.name }} at {{ details.due_at }}."
            + _LEAD_FACTS
            + "\nOpen it: {{ links.view }}\n",
            short="Follow-up due: {{ lead.name }}.",
            details=(("details.due_at", "the follow-up time"),),
        ),
        AlertEvent(
            "lead_idle",
            "Lead gone quiet",
            urgent=False,
            default_channels=(EMAIL, IN_APP),
            subject="{{ lead.name }} has had no activity for {{ details.idle_for }}",
            body="Hello {{ recipient.first_name }},\n\n"
            "nothing has happened on {{ lead.name }} for {{ details.idle_for }}. "
            "Get back in touch, or close it." + _LEAD_FACTS + "\nOpen it: {{ links.view }}\n",
            short="No activity on {{ lead.name }} for {{ details.idle_for }}.",
            details=(("details.idle_for", "how long the lead has been quiet"),),
        ),
        AlertEvent(
            "task_reminder",
            "Task reminder",
            urgent=False,
            default_channels=(EMAIL, IN_APP),
            subject="Reminder: {{ details.task }}",
            body="Hello {{ recipient.first_name }},\n\n"
            "a reminder about {{ lead.name }}: {{ details.task }}."
            + _LEAD_FACTS
            + "\nOpen it: {{ links.view }}\n",
            short="Reminder: {{ details.task }} ({{ lead.name }}).",
            details=(("details.task", "what is to be done"),),
        ),
        AlertEvent(
            "import_finished",
            "Import finished",
            urgent=False,
            default_channels=(EMAIL, IN_APP),
            subject="Import finished: {{ details.file_name }}",
            body="Hello {{ recipient.first_name }},\n\n"
            "{{ details.file_name }} is imported: {{ details.created }} leads created, "
            "{{ details.rejected }} rows rejected.\n\nSee the report: {{ details.url }}\n",
            short="Import finished: {{ details.created }} leads, {{ details.rejected }} rejected.",
            about_lead=False,
            details=(
                ("details.file_name", "the imported file"),
                ("details.created", "leads created"),
                ("details.rejected", "rows rejected"),
                ("details.url", "link to the import report"),
            ),
        ),
        AlertEvent(
            "export_ready",
            "Export ready",
            urgent=False,
            default_channels=(EMAIL, IN_APP),
            subject="Your export is ready",
            body="Hello {{ recipient.first_name }},\n\n"
            "your export of {{ details.rows }} leads is ready: {{ details.url }}\n",
            short="Your export of {{ details.rows }} leads is ready.",
            about_lead=False,
            details=(("details.rows", "rows exported"), ("details.url", "download link")),
        ),
        AlertEvent(
            "daily_digest",
            "Daily digest",
            urgent=False,
            default_channels=(EMAIL,),
            subject="Your leads today: {{ digest.open }} open, {{ digest.overdue }} overdue",
            body="Good morning {{ recipient.first_name }},\n\n"
            "Open leads: {{ digest.open }}\n"
            "New since yesterday: {{ digest.new }}\n"
            "Follow-ups due today: {{ digest.due_today }}\n"
            "Overdue follow-ups: {{ digest.overdue }}\n"
            "{% for item in digest.leads %}\n- {{ item.name }} ({{ item.status }}): "
            "{{ item.url }}{% endfor %}\n",
            short="{{ digest.open }} open leads, {{ digest.overdue }} overdue follow-ups.",
            about_lead=False,
            details=(
                ("digest.open", "your open leads"),
                ("digest.new", "new in the last 24 hours"),
                ("digest.due_today", "follow-ups due today"),
                ("digest.overdue", "overdue follow-ups"),
                ("digest.leads", "up to 10 leads that need you (name, status, url)"),
            ),
        ),
        AlertEvent(
            "alert_summary",
            "Summary of held-back alerts",
            urgent=False,
            default_channels=(),
            subject="{{ summary.count }} more alerts in the last hour",
            body="Hello {{ recipient.first_name }},\n\n"
            "to keep your {{ summary.channel }} quiet, {{ summary.count }} alerts of the last "
            "hour were held back:\n{% for line in summary.lines %}\n- {{ line }}{% endfor %}\n\n"
            "They are all in LeadTrack: {{ links.inbox }}\n",
            short="{{ summary.count }} more LeadTrack alerts in the last hour. {{ links.inbox }}",
            about_lead=False,
            details=(
                ("summary.count", "alerts held back"),
                ("summary.channel", "the channel"),
                ("summary.lines", "their subjects"),
                ("links.inbox", "link to the notification centre"),
            ),
        ),
        AlertEvent(
            "lead_message",
            "Message to the lead",
            urgent=False,
            default_channels=(),
            subject="Your enquiry at {{ org.name }}",
            body="Hello {{ lead.name }},\n\n"
            "thank you for your enquiry{% if lead.product %} about {{ lead.product }}{% endif %}. "
            "I tried to reach you and will call again soon; you can also reply to this "
            "message.\n\nKind regards,\n{{ sender.name }}\n{{ org.name }}\n",
            short="Hello {{ lead.name }}, this is {{ sender.name }} from {{ org.name }} about "
            "your enquiry. Please call me back.",
            details=(("sender.name", "the rep sending the message"),),
        ),
    )
}

# Events a user chooses channels for (the rest go where they must: to the lead, a summary).
USER_EVENTS = tuple(key for key in EVENTS if key not in ("alert_summary", "lead_message"))
LEAD_MESSAGE_CHANNELS = (EMAIL, SMS)


def get(key: str) -> AlertEvent:
    return EVENTS[key]


def editable_channels(event: AlertEvent) -> tuple[ChannelName, ...]:
    if event.key == "lead_message":
        return LEAD_MESSAGE_CHANNELS
    if event.key == "daily_digest":
        return (EMAIL,)
    return USER_CHANNELS
