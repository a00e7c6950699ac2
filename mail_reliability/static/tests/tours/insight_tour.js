/** @odoo-module **/
// The delivery-insight screens load and show their data (issue #15): the Email Health
// dashboard with the quota card and its quota saver, the delivery statistics in their
// three views, the problems by domain, and a contact's problems smart button.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("mail_reliability_health_dashboard", {
    steps: () => [
        {
            content: "The dashboard shows one card per check, the DKIM one among them",
            trigger: ".o_mr_health_dashboard .o_kanban_record:contains(DKIM)",
        },
        {
            content: "The bulk-sender rules have their card",
            trigger: ".o_mr_health_dashboard .o_kanban_record:contains(Bulk sender rules)",
        },
        {
            content: "The quota card shows today's figure, read when shown",
            trigger: ".o_mr_health_quota:contains(Today: 0/200)",
        },
        {
            content: "It offers to switch the colleague notified by email",
            trigger: ".o_mr_health_quota button:contains(Switch 1 internal user)",
            run: "click",
        },
        {
            content: "The quota saver lists that colleague, ticked",
            trigger: ".modal .o_data_row:contains(Quinn Saver):contains(quinn@corp-mr.net)",
        },
        {
            content: "Nothing changes without the confirmation: cancel",
            trigger: ".modal .modal-footer button:contains(Cancel)",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});

registry.category("web_tour.tours").add("mail_reliability_delivery_stats", {
    steps: () => [
        {
            content: "Delivery statistics open as a graph",
            trigger: ".o_graph_renderer canvas",
        },
        {
            content: "Switch to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot sums the counters",
            trigger: ".o_pivot table",
        },
        {
            content: "Switch to the list",
            trigger: ".o_switch_view.o_list",
            run: "click",
        },
        {
            content: "The row of the recipient domain, with its bounces",
            trigger:
                ".o_data_row:contains(tour-stats.test) td[name=hard_bounced]:contains(3)",
        },
    ],
});

registry.category("web_tour.tours").add("mail_reliability_problems_by_domain", {
    steps: () => [
        {
            content: "Problems are grouped by recipient domain",
            trigger: ".o_group_header:contains(tour-problems.test)",
            run: "click",
        },
        {
            content: "The contact's failed email is in the group",
            trigger: ".o_data_row:contains(Pia Problem)",
        },
    ],
});

registry.category("web_tour.tours").add("mail_reliability_contact_problems", {
    steps: () => [
        {
            content: "The contact's form counts its email problems",
            trigger: "button[name=action_view_mail_delivery_issues]:contains(Email Problems)",
            run: "click",
        },
        {
            content: "The button opens the list of those problems",
            trigger: ".o_data_row:contains(550 5.1.1)",
        },
    ],
});
