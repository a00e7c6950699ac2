/* Copyright 2026 mail_reliability contributors
 * License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */
import {Message} from "@mail/core/common/message_model";
import {patch} from "@web/core/utils/patch";

patch(Message.prototype, {
    /** Deferred recipients, shown only while nothing failed for good. */
    get mrRetryingNotifications() {
        if (this.failureNotifications.length) {
            return [];
        }
        return this.notifications.filter((notification) => notification.isRetrying);
    },

    get mrRetryTitle() {
        return this.mrRetryingNotifications
            .map((notification) => notification.retryText)
            .join("\n");
    },
});
