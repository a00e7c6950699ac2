/* Copyright 2026 mail_reliability contributors
 * License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import {Notification} from "@mail/core/common/notification_model";
import {Record} from "@mail/core/common/record";
import {_t} from "@web/core/l10n/translation";
import {formatDateTime} from "@web/core/l10n/dates";
import {patch} from "@web/core/utils/patch";

/**
 * Mail deferred by a temporary SMTP failure is "retrying", not failed: the
 * envelope stays white and the popover says when the next attempt is.
 */
patch(Notification.prototype, {
    setup() {
        super.setup(...arguments);
        /** @type {luxon.DateTime|undefined} */
        this.mr_next_attempt = Record.attr(undefined, {type: "datetime"});
        /** @type {Number|undefined} */
        this.mr_attempt = undefined;
    },

    get isRetrying() {
        return (
            this.notification_status === "process" &&
            this.failure_type === "mail_smtp_temporary"
        );
    },

    get retryText() {
        if (!this.isRetrying) {
            return "";
        }
        if (!this.mr_next_attempt) {
            return _t("Retrying");
        }
        return _t("Retrying — next attempt at %(time)s, attempt %(attempt)s", {
            time: formatDateTime(this.mr_next_attempt),
            attempt: this.mr_attempt,
        });
    },

    get icon() {
        if (this.isRetrying) {
            return "fa fa-clock-o";
        }
        return super.icon;
    },

    get statusIcon() {
        if (this.isRetrying) {
            return "fa fa-refresh";
        }
        return super.statusIcon;
    },

    get statusTitle() {
        return this.retryText || super.statusTitle;
    },
});
