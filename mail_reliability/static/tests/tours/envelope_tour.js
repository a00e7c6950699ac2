/* Copyright 2026 mail_reliability contributors
 * License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import {registry} from "@web/core/registry";

const RED_ENVELOPE = ".o-mail-Message-notification.text-danger";

/** Red envelope -> dialog with the explanation -> Send & close -> envelope white. */
registry.category("web_tour.tours").add("mail_reliability_envelope_resend", {
    steps: () => [
        {
            content: "One recipient failed: the envelope is red",
            trigger: `.o-mail-Message:contains(Your order) ${RED_ENVELOPE}`,
            run: "click",
        },
        {
            content: "The failed recipient is listed with its address and failure type",
            trigger: ".modal .o_data_row:contains(Bob):contains(blocked-bob@example.com)",
        },
        {
            trigger: ".modal .o_data_row td[name=failure_type]:contains(Blocked by recipient)",
        },
        {
            trigger: ".modal .o_data_row td[name=smtp_status]:contains(5.7.1)",
        },
        {
            content: "The plain-language explanation is shown",
            trigger: ".modal .o_data_row td[name=failure_explanation]:contains(against its policy)",
        },
        {
            content: "The sent recipient is not in the dialog",
            trigger: ".modal:not(:has(.o_data_row:contains(Alice)))",
        },
        {
            content: "Send & close (the sink accepts now)",
            trigger: ".modal button[name=resend_mail_action]",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "The envelope is no longer red",
            trigger: `.o-mail-Message:contains(Your order) .o-mail-Message-notification:not(.text-danger)`,
        },
    ],
});

/** Red envelope -> dialog -> Ignore all -> envelope white without reload. */
registry.category("web_tour.tours").add("mail_reliability_envelope_ignore", {
    steps: () => [
        {
            content: "One recipient failed: the envelope is red",
            trigger: `.o-mail-Message:contains(Your order) ${RED_ENVELOPE}`,
            run: "click",
        },
        {
            content: "A permanently rejected address is not retried, with the reason",
            trigger: ".modal .o_data_row:contains(unknown-bob@example.com) td[name=skip_reason]:contains(for good)",
        },
        {
            trigger: ".modal .o_data_row td[name=failure_explanation]:contains(does not exist)",
        },
        {
            content: "Ignore all",
            trigger: ".modal .modal-footer button[name=cancel_mail_action]",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "The envelope turned white without reloading the page",
            trigger: `.o-mail-Message:contains(Your order) .o-mail-Message-notification:not(.text-danger)`,
        },
    ],
});

/** Deferred by a temporary failure: not red, the popover says when the next attempt is. */
registry.category("web_tour.tours").add("mail_reliability_envelope_retrying", {
    steps: () => [
        {
            content: "Deferred mail: the envelope is not red but marked retrying",
            trigger:
                ".o-mail-Message:contains(Your order) .o-mail-Message-notification[data-mr-retrying]:not(.text-danger)",
            run: "click",
        },
        {
            content: "The popover says when and which attempt comes next",
            trigger:
                ".o-mail-MessageNotificationPopover .o-mr-retry-text:contains(Retrying — next attempt at):contains(attempt 2)",
        },
        {
            trigger: ".o-mail-MessageNotificationPopover i.fa-refresh",
        },
    ],
});

/** Bounced after the relay accepted it: "See Error Details" -> explanation and queue id. */
registry.category("web_tour.tours").add("mail_reliability_envelope_details", {
    steps: () => [
        {
            content: "The recipient bounced: the envelope is red",
            trigger: `.o-mail-Message:contains(Your order) ${RED_ENVELOPE}`,
            run: "click",
        },
        {
            content: "The bounced recipient is listed with name and address",
            trigger: ".modal .o_data_row:contains(Dora):contains(dora@example.com)",
        },
        {
            content: "See Error Details",
            trigger: ".modal .o_data_row:contains(Dora) button[name=action_open_resend_partner]",
            run: "click",
        },
        {
            content: "The recipient's details open: its explanation",
            trigger: "body:not(:has(.modal)) div[name=failure_explanation]:contains(does not exist)",
        },
        {
            content: "The relay's reply and queue id: it left Odoo",
            trigger: "div[name=smtp_reply]:contains(queued as)",
        },
        {
            trigger: "div[name=smtp_queue_id] span:not(:empty)",
        },
    ],
});

