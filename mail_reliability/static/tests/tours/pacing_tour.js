/** @odoo-module **/
// The throughput screens render with their data (issue #17): the Pacing group of an
// outgoing server's form, its slow-down included, and the Queue Lanes and Sending Pace
// blocks of Settings > Emails.
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("mail_reliability_pacing_server", {
    steps: () => [
        {
            content: "The server form has its Pacing group with the rate",
            trigger: ".o_form_view .o_group:contains(Pacing) div[name=rate_per_minute] input",
            run() {
                if (this.anchor.value !== "30") {
                    throw new Error(`Emails per Minute shows ${this.anchor.value}, not 30`);
                }
            },
        },
        {
            content: "The connections at once",
            trigger: ".o_form_view div[name=max_connections] input",
            run() {
                if (this.anchor.value !== "3") {
                    throw new Error(`Connections at Once shows ${this.anchor.value}, not 3`);
                }
            },
        },
        {
            content: "The current pace says it was slowed down, and why",
            trigger:
                ".o_form_view div[name=pace_summary]:contains(slowed down until):contains(421 4.7.0 Too many messages)",
        },
    ],
});

registry.category("web_tour.tours").add("mail_reliability_settings_lanes_pacing", {
    steps: () => [
        {
            content: "Settings > Emails explains the queue lanes",
            trigger:
                "#mail_reliability_queue_lanes:contains(any cron worker of any Odoo server):contains(oldest first)",
        },
        {
            content: "The number of lanes is shown",
            trigger: "#mail_reliability_queue_lanes div[name=mr_queue_lanes] input",
            run() {
                if (this.anchor.value !== "2") {
                    throw new Error(`Queue Lanes shows ${this.anchor.value}, not 2`);
                }
            },
        },
        {
            content: "Settings > Emails explains the sending pace",
            trigger:
                "#mail_reliability_pacing:contains(emails per minute):contains(halved for 15 minutes)",
        },
        {
            content: "It leads to the outgoing servers, where the pace is set",
            trigger: "#mail_reliability_pacing button:contains(Outgoing Mail Servers)",
            run: "click",
        },
        {
            content: "The list of outgoing servers shows their pace",
            trigger: ".o_list_view .o_data_row:contains(Tour paced relay) td[name=rate_per_minute]:contains(30)",
        },
    ],
});
