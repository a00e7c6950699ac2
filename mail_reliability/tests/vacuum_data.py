# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Bulk old ``mail.mail`` rows for the vacuum tests and ``bench/vacuum.py``.

Plain SQL, because creating 100,000 mails through the ORM takes longer than
what is measured. Each mail gets its own ``mail.message``, dated ``age_days``
ago, like a mail that has not changed since then.
"""

from datetime import datetime, timedelta


def insert_old_mails(
    cr, count, state, age_days, auto_delete=False, is_notification=False, model=None, res_id=None
):
    """Insert ``count`` mails in ``state`` last written ``age_days`` ago; return their ids."""
    stamp = datetime.utcnow() - timedelta(days=age_days)
    cr.execute(
        """
        WITH msg AS (
            INSERT INTO mail_message
                   (message_type, subject, body, model, res_id, date,
                    create_date, write_date, create_uid, write_uid)
            SELECT 'email_outgoing', 'Old mail ' || n, '<p>Old mail</p>', %(model)s, %(res_id)s,
                   %(stamp)s, %(stamp)s, %(stamp)s, 1, 1
              FROM generate_series(1, %(count)s) n
            RETURNING id
        )
        INSERT INTO mail_mail
               (mail_message_id, state, auto_delete, is_notification, email_to, body_html,
                create_date, write_date, create_uid, write_uid)
        SELECT id, %(state)s, %(auto_delete)s, %(is_notification)s, 'old@example.com',
               '<p>Old mail</p>', %(stamp)s, %(stamp)s, 1, 1
          FROM msg
        RETURNING id
        """,
        {
            "count": count,
            "state": state,
            "auto_delete": auto_delete,
            "is_notification": is_notification,
            "model": model,
            "res_id": res_id,
            "stamp": stamp,
        },
    )
    return [row[0] for row in cr.fetchall()]
