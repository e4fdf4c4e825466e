"""Provider errors and responses in the formats the providers document.

Field names follow the providers' own references: Aliyun SMS (SendSms, QuerySendDetails,
SmsReport), Twilio (Message resource, status callbacks, REST error bodies), SendGrid
Event Webhook, Amazon SES notifications delivered through SNS, FCM HTTP v1 and legacy
HTTP, APNs. Each builder returns a :class:`Payload` with what must stay hidden (device
tokens, IP addresses, recipient echoes, bodies, names, credentials inside them) and what
a person needs (status, error code, the provider's message id).
"""

from __future__ import annotations

import json
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import TypeVar
from urllib.parse import quote

from tests.corpus import shapes
from tests.corpus.shapes import digits, email_hidden_parts, phone_hidden_part, pick

T = TypeVar("T")


@dataclass(frozen=True)
class Payload:
    provider: str | None
    channel: str
    text: str
    status: str
    """The delivery status reported with it: ``failed``, ``delivered`` or ``sent``."""
    stored_as: str
    """``error`` or ``response``: where a sending service records it."""
    lang: str = "en"
    hide: list[tuple[str, str]] = field(default_factory=list)
    keep: list[tuple[str, str]] = field(default_factory=list)


# E.164 numbers of realistic shape: (country calling code, national number).
PHONES = [
    ("86", "138{}", 8),
    ("86", "159{}", 8),
    ("1", "415{}", 7),
    ("44", "7700{}", 6),
    ("49", "151{}", 8),
    ("34", "6{}", 8),
    ("33", "6{}", 8),
    ("81", "90{}", 8),
    ("82", "10{}", 8),
    ("91", "98{}", 8),
    ("852", "9{}", 7),
    ("65", "8{}", 7),
]


def e164(rng: Random, country: str | None = None) -> tuple[str, int]:
    """An E.164 number and the length of its national number."""
    code, pattern, free = rng.choice([p for p in PHONES if country in (None, p[0])])
    national = pattern.format(digits(rng, free))
    return f"+{code}{national}", len(national)


def _phone_hides(number: str, national_digits: int) -> list[tuple[str, str]]:
    return [(phone_hidden_part(number, national_digits), "payload.recipient_echo")]


def _ip(rng: Random) -> str:
    if rng.random() < 0.2:
        return f"2001:db8:{pick(rng, '0123456789abcdef', 4)}::{pick(rng, '0123456789abcdef', 3)}"
    return ".".join(str(rng.randrange(1, 255)) for _ in range(4))


def _fcm_token(rng: Random) -> str:
    return f"{pick(rng, shapes.URLSAFE, 22)}:APA91b{pick(rng, shapes.URLSAFE, 134)}"


def _apns_token(rng: Random) -> str:
    return pick(rng, "0123456789abcdef", 64)


def _token_hide(token: str) -> tuple[str, str]:
    return (token[4:-4], "payload.device_token")


HEX = "0123456789abcdef"


def _feedback_id(rng: Random) -> str:
    return f"0102019{pick(rng, HEX, 9)}-{uuid.UUID(int=rng.getrandbits(128))}-000000"


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _request_id(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128))).upper()


def _biz_id(rng: Random) -> str:
    return f"{digits(rng, 15, first_nonzero=True)}^0"


# --- Aliyun ----------------------------------------------------------------------------

ALIYUN_ERRORS = [
    ("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:10"),
    ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"),
    ("isv.AMOUNT_NOT_ENOUGH", "账户余额不足"),
    ("isv.TEMPLATE_MISSING_PARAMETERS", "模版缺少变量"),
    ("isv.DAY_LIMIT_CONTROL", "触发日发送限额"),
]
ALIYUN_REPORT_CODES = [
    ("DELIVERED", "用户接收成功", True),
    ("MK:0001", "空号", False),
    ("MK:0005", "关机或停机", False),
    ("UNDELIV", "运营商拒收", False),
    ("IC:0055", "黑名单号码", False),
]


def aliyun_send_ok(rng: Random, n: int) -> Payload:
    biz_id = _biz_id(rng)
    text = _dumps({"RequestId": _request_id(rng), "Message": "OK", "BizId": biz_id, "Code": "OK"})
    return Payload(
        "aliyun", "sms", text, "sent", "response", "zh", keep=[(biz_id, "keep.message_id")]
    )


def aliyun_send_error(rng: Random, n: int) -> Payload:
    code, message = _nth(n, ALIYUN_ERRORS)
    text = _dumps({"RequestId": _request_id(rng), "Message": message, "Code": code})
    return Payload("aliyun", "sms", text, "failed", "error", "zh", keep=[(code, "keep.error_code")])


def aliyun_query_send_details(rng: Random, n: int) -> Payload:
    number, national = e164(rng, "86")
    phone = number.removeprefix("+86")
    code = shapes.code_digits(rng, "zh")
    name = shapes.name(rng, "zh")
    content = (
        f"【阿里云】{name.text}，您的验证码为：{code.text}，您正在登录，若非本人操作，请勿泄露。"
    )
    err_code, _, ok = _nth(n, ALIYUN_REPORT_CODES)
    detail = {
        "SendDate": "2026-10-08 16:44:10",
        "SendStatus": 3 if ok else 2,
        "ReceiveDate": "2026-10-08 16:44:13",
        "ErrCode": err_code,
        "TemplateCode": f"SMS_{digits(rng, 9)}",
        "Content": content,
        "PhoneNum": phone,
        "OutId": f"out{digits(rng, 6)}",
    }
    text = _dumps(
        {
            "TotalCount": 1,
            "Message": "OK",
            "RequestId": _request_id(rng),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": [detail]},
            "Code": "OK",
        }
    )
    hide = [*_phone_hides(phone, national), *code.hide, *name.hide]
    return Payload(
        "aliyun",
        "sms",
        text,
        "delivered" if ok else "failed",
        "response",
        "zh",
        hide=hide,
        keep=[(err_code, "keep.error_code")],
    )


def aliyun_sms_report(rng: Random, n: int) -> Payload:
    number, national = e164(rng, "86")
    phone = number.removeprefix("+86")
    err_code, err_msg, ok = _nth(n, ALIYUN_REPORT_CODES)
    biz_id = _biz_id(rng)
    report = [
        {
            "phone_number": phone,
            "send_time": "2026-10-08 09:12:01",
            "report_time": "2026-10-08 09:12:04",
            "success": ok,
            "err_code": err_code,
            "err_msg": err_msg,
            "sms_size": "1",
            "biz_id": biz_id,
            "out_id": f"order-{digits(rng, 8)}",
        }
    ]
    return Payload(
        "aliyun",
        "sms",
        _dumps(report),
        "delivered" if ok else "failed",
        "response" if ok else "error",
        "zh",
        hide=_phone_hides(phone, national),
        keep=[(err_code, "keep.error_code"), (biz_id, "keep.message_id")],
    )


# --- Twilio ----------------------------------------------------------------------------


def _nth(n: int, choices: list[T]) -> T:
    """The n-th of ``choices``, round and round: every variant appears, many times over."""
    return choices[n % len(choices)]


def _sid(rng: Random, prefix: str) -> str:
    return prefix + pick(rng, "0123456789abcdef", 32)


def twilio_message(rng: Random, n: int) -> Payload:
    """A Message resource as the Messages API returns it, with the body echoed."""
    to, national = e164(rng)
    account = _sid(rng, "AC")
    sid = _sid(rng, "SM")
    link = shapes.magic_link(rng, "en")
    code = shapes.code_letters(rng, "en")
    body = _nth(
        n, [f"Your Kontora login link: {link.text}", f"Your verification code is {code.text}"]
    )
    secret = link if "link" in body else code
    failed = n % 3 != 0
    error_code, error_message = (30007, "Message filtered") if failed else (None, None)
    resource = {
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": "Thu, 08 Oct 2026 20:12:31 +0000",
        "date_sent": "Thu, 08 Oct 2026 20:12:33 +0000",
        "date_updated": "Thu, 08 Oct 2026 20:12:35 +0000",
        "direction": "outbound-api",
        "error_code": error_code,
        "error_message": error_message,
        "from": "+15017122661",
        "messaging_service_sid": _sid(rng, "MG"),
        "num_media": "0",
        "num_segments": "1",
        "price": "-0.00750",
        "price_unit": "USD",
        "sid": sid,
        "status": "undelivered" if failed else "delivered",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
        "to": to,
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
    }
    keep = [(sid, "keep.message_id")]
    if failed:
        keep.append(("30007", "keep.error_code"))
    return Payload(
        "twilio",
        "sms",
        _dumps(resource),
        "failed" if failed else "delivered",
        "error" if failed else "response",
        hide=[*_phone_hides(to, national), *secret.hide],
        keep=keep,
    )


TWILIO_CALLBACK_ERRORS = [
    ("30003", "undelivered"),
    ("30005", "undelivered"),
    ("30006", "failed"),
    ("30007", "undelivered"),
    ("30008", "failed"),
]


def twilio_status_callback(rng: Random, n: int) -> Payload:
    """The form-encoded body Twilio POSTs to a StatusCallback URL."""
    to, national = e164(rng)
    sid = _sid(rng, "SM")
    delivered = n % 3 == 0
    fields = {
        "ApiVersion": "2010-04-01",
        "MessageStatus": "delivered" if delivered else "",
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "delivered" if delivered else "",
        "To": to,
        "From": "+15017122661",
        "AccountSid": _sid(rng, "AC"),
    }
    keep = [(sid, "keep.message_id")]
    if not delivered:
        code, status = _nth(n, TWILIO_CALLBACK_ERRORS)
        fields["MessageStatus"] = fields["SmsStatus"] = status
        fields["ErrorCode"] = code
        keep.append((code, "keep.error_code"))
    text = "&".join(f"{key}={quote(value, safe='')}" for key, value in fields.items())
    hidden = phone_hidden_part(to, national)
    return Payload(
        "twilio",
        "sms",
        text,
        "delivered" if delivered else "failed",
        "response" if delivered else "error",
        hide=[(hidden, "payload.recipient_echo")],
        keep=keep,
    )


def twilio_error(rng: Random, n: int) -> Payload:
    """A REST error body (HTTP 400) from POST /Messages."""
    to, national = e164(rng)
    code, message = _nth(
        n,
        [
            (21211, f"The 'To' number {to} is not a valid phone number."),
            (21610, "Attempt to send to unsubscribed recipient"),
            (21614, f"'To' number {to} is not a valid mobile number"),
            (
                21408,
                f"Permission to send an SMS has not been enabled for the region "
                f"indicated by the 'To' number: {to}.",
            ),
        ],
    )
    text = _dumps(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": 400,
        }
    )
    hide = _phone_hides(to, national) if to in message else []
    return Payload(
        "twilio", "sms", text, "failed", "error", hide=hide, keep=[(str(code), "keep.error_code")]
    )


# --- SendGrid --------------------------------------------------------------------------

USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (via ggpht.com GoogleImageProxy)",
]


def _sendgrid_ids(rng: Random) -> tuple[str, str, str]:
    local = f"{pick(rng, HEX, 11)}.dfd.{pick(rng, HEX, 6)}"
    smtp = f"<{local}@ismtpd-{digits(rng, 3)}>"
    event_id = pick(rng, shapes.URLSAFE, 22)
    message_id = (
        f"{pick(rng, string.ascii_letters + string.digits, 22)}.filter"
        f"{digits(rng, 4)}.{digits(rng, 5)}.{pick(rng, '0123456789ABCDEF', 9)}.0"
    )
    return smtp, event_id, message_id


def sendgrid_event(rng: Random, n: int) -> Payload:
    lang = rng.choice(["en", "de", "fr", "es", "zh", "ja"])
    address = shapes.email(rng, lang).text
    smtp, event_id, message_id = _sendgrid_ids(rng)
    kind = _nth(n, ["delivered", "bounce", "click", "open", "dropped"])
    event: dict[str, object] = {
        "email": address,
        "timestamp": 1790000000 + rng.randrange(10_000_000),
        "smtp-id": smtp,
        "event": kind,
        "category": ["transactional"],
        "sg_event_id": event_id,
        "sg_message_id": message_id,
    }
    hide = email_hidden_parts(address, "payload.recipient_echo")
    keep = [(kind, "keep.status")]
    status, where = "delivered", "response"
    if kind == "delivered":
        event["response"] = "250 2.0.0 OK  1790001234 d2e1a72fcca58-7a1b2c3d4e5f6.123 - gsmtp"
        event["tls"] = 1
        event["ip"] = ip = _ip(rng)
        hide.append((ip, "payload.ip"))
    elif kind == "bounce":
        event["reason"] = f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        event["status"] = "5.1.1"
        event["type"] = "bounce"
        event["ip"] = ip = _ip(rng)
        hide.append((ip, "payload.ip"))
        keep.append(("5.1.1", "keep.error_code"))
        status, where = "failed", "error"
    elif kind == "dropped":
        event["reason"] = "Bounced Address"
        event["status"] = "5.0.0"
        status, where = "failed", "error"
    elif kind == "click":
        link = shapes.magic_link(rng, "en")
        event["url"] = link.text
        event["url_offset"] = {"index": 0, "type": "html"}
        event["useragent"] = rng.choice(USER_AGENTS)
        event["ip"] = ip = _ip(rng)
        hide += [*link.hide, (ip, "payload.ip")]
    else:
        event["useragent"] = rng.choice(USER_AGENTS)
        event["ip"] = ip = _ip(rng)
        event["sg_machine_open"] = False
        hide.append((ip, "payload.ip"))
    return Payload("sendgrid", "email", _dumps([event]), status, where, lang, hide, keep)


# --- Amazon SES via SNS ----------------------------------------------------------------

SUBJECTS = {
    "en": ["Your sign-in code is {code}", "Reset your password", "{name}, your receipt"],
    "de": ["Ihr Bestätigungscode: {code}", "{name}, Ihre Rechnung ist da"],
    "zh": ["您的验证码：{code}", "{name}，您的电子发票"],
    "ja": ["認証コード {code}", "{name}様 ご注文ありがとうございます"],
    "fr": ["Votre code de connexion : {code}", "{name}, votre facture"],
    "es": ["Tu código de acceso: {code}", "{name}, tu factura"],
}


def ses_notification(rng: Random, n: int) -> Payload:
    lang = rng.choice(list(SUBJECTS))
    kind = _nth(n, ["Bounce", "Complaint", "Bounce", "Delivery"])
    address = shapes.email(rng, lang).text
    person = shapes.name(rng, lang)
    code = shapes.code_letters(rng, lang) if rng.random() < 0.5 else shapes.code_digits(rng, lang)
    subject = rng.choice(SUBJECTS[lang]).format(code=code.text, name=person.text)
    message_id = (
        f"0102019{pick(rng, '0123456789abcdef', 9)}-{pick(rng, '0123456789abcdef', 8)}-"
        f"{pick(rng, '0123456789abcdef', 4)}-{pick(rng, '0123456789abcdef', 4)}-"
        f"{pick(rng, '0123456789abcdef', 4)}-{pick(rng, '0123456789abcdef', 12)}-000000"
    )
    source_ip, remote_ip = _ip(rng), _ip(rng)
    mail = {
        "timestamp": "2026-10-08T11:05:04.000Z",
        "source": "no-reply@notify.kontora.io",
        "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/notify.kontora.io",
        "sourceIp": source_ip,
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": [address],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "Kontora <no-reply@notify.kontora.io>"},
            {"name": "To", "value": f"{person.text} <{address}>"},
            {"name": "Subject", "value": subject},
        ],
        "commonHeaders": {
            "from": ["Kontora <no-reply@notify.kontora.io>"],
            "to": [f"{person.text} <{address}>"],
            "messageId": message_id,
            "subject": subject,
        },
    }
    hide = [*email_hidden_parts(address, "payload.recipient_echo"), (source_ip, "payload.ip")]
    hide += [(value, "payload.name") for value, _ in person.hide]
    if code.text in subject:
        hide += code.hide
    keep = [(message_id, "keep.message_id")]
    notification: dict[str, object] = {"notificationType": kind, "mail": mail}
    status, where = "failed", "error"
    if kind == "Bounce":
        notification["bounce"] = {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": f"smtp; 550 5.1.1 <{address}>... User unknown",
                }
            ],
            "timestamp": "2026-10-08T11:05:06.477Z",
            "feedbackId": _feedback_id(rng),
            "remoteMtaIp": remote_ip,
            "reportingMTA": "dsn; a4-8.smtp-out.eu-west-1.amazonses.com",
        }
        hide.append((remote_ip, "payload.ip"))
        keep += [("Permanent", "keep.status"), ("5.1.1", "keep.error_code")]
    elif kind == "Complaint":
        notification["complaint"] = {
            "userAgent": "ExampleCorp Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": address}],
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2026-10-08T11:06:51.000Z",
            "timestamp": "2026-10-08T11:07:02.000Z",
            "feedbackId": _feedback_id(rng),
        }
        keep.append(("abuse", "keep.status"))
    else:
        notification["delivery"] = {
            "timestamp": "2026-10-08T11:05:07.112Z",
            "processingTimeMillis": 2103,
            "recipients": [address],
            "smtpResponse": "250 2.6.0 Message received",
            "remoteMtaIp": remote_ip,
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
        hide.append((remote_ip, "payload.ip"))
        status, where = "delivered", "response"
    envelope = {
        "Type": "Notification",
        "MessageId": str(uuid.UUID(int=rng.getrandbits(128))),
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ses-notifications",
        "Message": _dumps(notification),
        "Timestamp": "2026-10-08T11:05:07.300Z",
        "SignatureVersion": "1",
        "Signature": pick(rng, string.ascii_letters + string.digits + "+/", 88) + "==",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-"
        + pick(rng, "0123456789abcdef", 32)
        + ".pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&"
        "SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:ses-notifications:"
        + str(uuid.UUID(int=rng.getrandbits(128))),
    }
    return Payload("ses", "email", _dumps(envelope), status, where, lang, hide, keep)


# --- FCM and APNs ----------------------------------------------------------------------


def fcm_v1(rng: Random, n: int) -> Payload:
    token = _fcm_token(rng)
    kind = _nth(n, ["UNREGISTERED", "INVALID_ARGUMENT", "ok", "QUOTA_EXCEEDED"])
    project = rng.choice(["kontora-prod", "sakura-pay-app", "hanbit-card-7f3a1"])
    if kind == "ok":
        name = (
            f"projects/{project}/messages/0:{digits(rng, 16)}%{pick(rng, '0123456789abcdef', 16)}"
        )
        return Payload(
            "fcm",
            "push",
            _dumps({"name": name}),
            "sent",
            "response",
            keep=[(name, "keep.message_id")],
        )
    if kind == "UNREGISTERED":
        error = {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "UNREGISTERED",
                }
            ],
        }
        hide: list[tuple[str, str]] = []
    elif kind == "QUOTA_EXCEEDED":
        error = {
            "code": 429,
            "message": "Quota exceeded for quota metric 'Send requests'.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "QUOTA_EXCEEDED",
                }
            ],
        }
        hide = []
    else:
        error = {
            "code": 400,
            "message": f"Invalid value at 'message.token' (TYPE_STRING), \"{token}\"",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "INVALID_ARGUMENT",
                },
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [
                        {
                            "field": "message.token",
                            "description": f"Invalid registration token {token}",
                        }
                    ],
                },
            ],
        }
        hide = [_token_hide(token)]
    return Payload(
        "fcm",
        "push",
        _dumps({"error": error}),
        "failed",
        "error",
        hide=hide,
        keep=[(kind, "keep.error_code")],
    )


def fcm_legacy(rng: Random, n: int) -> Payload:
    multicast = int(digits(rng, 19, first_nonzero=True))
    kind = _nth(n, ["NotRegistered", "InvalidRegistration", "canonical", "ok"])
    if kind == "ok":
        message_id = f"0:{digits(rng, 16)}%{pick(rng, '0123456789abcdef', 16)}"
        body = {
            "multicast_id": multicast,
            "success": 1,
            "failure": 0,
            "canonical_ids": 0,
            "results": [{"message_id": message_id}],
        }
        return Payload(
            "fcm", "push", _dumps(body), "sent", "response", keep=[(message_id, "keep.message_id")]
        )
    if kind == "canonical":
        token = _fcm_token(rng)
        message_id = f"0:{digits(rng, 16)}%{pick(rng, '0123456789abcdef', 16)}"
        body = {
            "multicast_id": multicast,
            "success": 1,
            "failure": 0,
            "canonical_ids": 1,
            "results": [{"message_id": message_id, "registration_id": token}],
        }
        return Payload(
            "fcm",
            "push",
            _dumps(body),
            "sent",
            "response",
            hide=[_token_hide(token)],
            keep=[(message_id, "keep.message_id")],
        )
    body = {
        "multicast_id": multicast,
        "success": 0,
        "failure": 1,
        "canonical_ids": 0,
        "results": [{"error": kind}],
    }
    return Payload("fcm", "push", _dumps(body), "failed", "error", keep=[(kind, "keep.error_code")])


def apns(rng: Random, n: int) -> Payload:
    token = _apns_token(rng)
    apns_id = str(uuid.UUID(int=rng.getrandbits(128))).upper()
    kind = _nth(n, ["BadDeviceToken", "Unregistered", "logged"])
    if kind == "BadDeviceToken":
        text = _dumps({"reason": "BadDeviceToken"})
        hide: list[tuple[str, str]] = []
    elif kind == "Unregistered":
        text = _dumps({"reason": "Unregistered", "timestamp": 1790000000000 + rng.randrange(10**9)})
        hide = []
    else:
        # What an HTTP/2 client library logs: status, headers, the path with the token.
        kind = "Unregistered"
        text = f":status: 410\napns-id: {apns_id}\n:path: /3/device/{token}\n" + _dumps(
            {"reason": "Unregistered", "timestamp": 1790000000000 + rng.randrange(10**9)}
        )
        hide = [_token_hide(token)]
    return Payload(
        "apns", "push", text, "failed", "error", hide=hide, keep=[(kind, "keep.error_code")]
    )


# --- providers nobody parses -----------------------------------------------------------


def unknown_provider(rng: Random, n: int) -> Payload:
    number, national = e164(rng, "86")
    address = shapes.email(rng, "de").text
    code = shapes.code_digits(rng, "zh")
    ip = _ip(rng)
    shape = _nth(n, ["gateway", "smtp", "cn", "cmpp"])
    if shape == "gateway":
        text = f"ERROR 5003 gateway timeout sending to {number} via smsc-eu-2 ({ip})"
        hide = [*_phone_hides(number, national), (ip, "payload.ip")]
        keep = [("5003", "keep.error_code")]
        provider = "acme-sms"
    elif shape == "smtp":
        text = (
            f"SMTP 550 5.1.1 <{address}>: Recipient address rejected: "
            "User unknown in virtual mailbox table"
        )
        hide = email_hidden_parts(address, "payload.recipient_echo")
        keep = [("550", "keep.error_code")]
        provider = "postfix"
    elif shape == "cn":
        text = (
            f"短信发送失败：手机号{number.removeprefix('+86')}状态异常(停机)，"
            f"内容：您的验证码{code.text}，错误码E1004"
        )
        hide = [*_phone_hides(number.removeprefix("+86"), national), *code.hide]
        keep = [("E1004", "keep.error_code")]
        provider = "yunpian"
    else:
        text = f"CMPP_SUBMIT_RESP result=8 msg_id={digits(rng, 19)} dest={number.removeprefix('+')}"
        hide = _phone_hides(number.removeprefix("+"), national)
        keep = [("result=8", "keep.error_code")]
        provider = None
    return Payload(provider, "sms", text, "failed", "error", "en", hide, keep)


BUILDERS: list[tuple[Callable[[Random, int], Payload], int]] = [
    (aliyun_send_ok, 4),
    (aliyun_send_error, 5),
    (aliyun_query_send_details, 5),
    (aliyun_sms_report, 6),
    (twilio_message, 6),
    (twilio_status_callback, 6),
    (twilio_error, 12),
    (sendgrid_event, 12),
    (ses_notification, 10),
    (fcm_v1, 10),
    (fcm_legacy, 6),
    (apns, 6),
    (unknown_provider, 8),
]
