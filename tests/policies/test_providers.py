# ruff: noqa: E501 - payloads are written as the providers send them, long lines included
"""Provider payloads keep their allow-listed fields and lose everything else.

The payloads below follow the providers' documented formats (Aliyun dysmsapi 2017-05-25,
Twilio Messages API and status callbacks, SendGrid Event Webhook, Amazon SES
notifications and SNS, FCM HTTP v1 and legacy, APNs), filled with realistic personal
data: recipients, message bodies with codes, subject lines, IP addresses, device tokens,
login links.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.masking import mask_content
from policies.providers import (
    FREE_TEXT_CAP,
    MAX_MARKER_CHARS,
    MAX_REDUCED_CHARS,
    ProviderOutcome,
    parser_named,
    reduce_provider_text,
    reduced_or_none,
)
from policies.providers.outcome import (
    FIELD_TEXT_CAP,
    MAX_ITEMS,
    TOKEN_MARK,
    china_time,
    identifier,
    instant,
    marker,
)

FCM_TOKEN = (
    "fMEQ7Xk2Rh-9bT1cVwZ4nE:APA91bHq3Kx0yV8uGp2LmN5sT7wQ1zR4cX9vB6nM3kJ2hG1fD0sA8pO7iU6yT5r"
    "E4wQ3eR2tY1uI0oP9lK8jH7gF6dS5aZ4xC3vB2nM1"
)
APNS_TOKEN = "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad"
SES_SUBJECT = "Your Examplebank sign-in code is 804217"
LOGIN_LINK = "https://login.examplebank.com/magic/c2Vzc2lvbjo3ZjNjOWExYjJkNGU1ZjZh?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfYWxpY2UifQ.Zm9v"
CLICK_LINK = "https://shop.example.de/account/login?otp=582910&uid=usr_8812"


@dataclass(frozen=True)
class Payload:
    name: str
    provider: str | None
    """What the send record names (None: found by shape)."""
    expect: str
    """The provider the reduced text must name."""
    text: str
    kept: tuple[str, ...]
    """Each must appear in the reduced text (as a JSON value or inside one)."""
    dropped: tuple[str, ...]
    """None may appear in the reduced text."""


def _json(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False)


def _sns(message: dict[str, Any], message_id: str) -> str:
    return _json(
        {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ses-notifications",
            "Message": json.dumps(message),
            "Timestamp": "2026-11-27T10:00:02.120Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
            "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:ses-notifications:2d0bb8b4-2f4c-4b55-8c5a-1a2b3c4d5e6f",
        }
    )


_SES_MAIL = {
    "timestamp": "2026-11-27T09:59:58.000Z",
    "source": "Examplebank <no-reply@examplebank.com>",
    "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/examplebank.com",
    "sourceIp": "203.0.113.47",
    "callerIdentity": "ses-sender-prod",
    "sendingAccountId": "123456789012",
    "messageId": "0102019b6c2f4a1e-3f7d9c21-8e4b-4a6f-9d2e-5b1c7a8f3e60-000000",
    "destination": ["anna.mueller@posteo.de"],
    "headersTruncated": False,
    "headers": [
        {"name": "From", "value": "Examplebank <no-reply@examplebank.com>"},
        {"name": "To", "value": "Anna Müller <anna.mueller@posteo.de>"},
        {"name": "Subject", "value": SES_SUBJECT},
    ],
    "commonHeaders": {
        "from": ["Examplebank <no-reply@examplebank.com>"],
        "to": ["Anna Müller <anna.mueller@posteo.de>"],
        "subject": SES_SUBJECT,
    },
    "tags": {"ses:source-ip": ["203.0.113.47"], "campaign": ["signin-otp"]},
}
_SES_BOUNCE = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "anna.mueller@posteo.de",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 <anna.mueller@posteo.de>: Recipient address rejected",
            }
        ],
        "timestamp": "2026-11-27T10:00:01.311Z",
        "feedbackId": "0102019b6c2f5c7d-6a1e0b2c-3d4f-4e5a-8b9c-0d1e2f3a4b5c-000000",
        "remoteMtaIp": "185.97.174.199",
        "reportingMTA": "dsn; a8-31.smtp-out.eu-west-1.amazonses.com",
    },
    "mail": _SES_MAIL,
}
_SES_DELIVERY = {
    "notificationType": "Delivery",
    "mail": _SES_MAIL,
    "delivery": {
        "timestamp": "2026-11-27T10:00:00.742Z",
        "processingTimeMillis": 2742,
        "recipients": ["anna.mueller@posteo.de"],
        "smtpResponse": "250 2.0.0 OK 4CnKPq1Zxyz for <anna.mueller@posteo.de>",
        "remoteMtaIp": "185.97.174.199",
        "reportingMTA": "a8-31.smtp-out.eu-west-1.amazonses.com",
    },
}

_TWILIO_MESSAGE_BASE = {
    "account_sid": "AC3f1e9b7c2d4a6e8f0b1c3d5e7f9a2b4c",
    "api_version": "2010-04-01",
    "direction": "outbound-api",
    "from": "+14155550123",
    "messaging_service_sid": "MG9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
    "num_media": "0",
    "price_unit": "USD",
    "subresource_uris": {
        "media": "/2010-04-01/Accounts/AC3f1e9b7c2d4a6e8f0b1c3d5e7f9a2b4c/Messages/SMd1c0a7e2f4b6c8d0e2f4a6b8c0d2e4f6/Media.json"
    },
    "uri": "/2010-04-01/Accounts/AC3f1e9b7c2d4a6e8f0b1c3d5e7f9a2b4c/Messages/SMd1c0a7e2f4b6c8d0e2f4a6b8c0d2e4f6.json",
}

_TWILIO_CALLBACK_BASE = {
    "AccountSid": "AC3f1e9b7c2d4a6e8f0b1c3d5e7f9a2b4c",
    "From": "+14155550123",
    "To": "+447700900461",
    "ApiVersion": "2010-04-01",
}

_SENDGRID_COMMON = {
    "email": "li.na@qq.com",
    "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
    "category": ["password-reset", "usr_8812"],
    "user_id": "usr_8812",
    "order_ref": "ORD-2026-118834",
}

PAYLOADS: tuple[Payload, ...] = (
    # --- Aliyun SMS -------------------------------------------------------------------
    Payload(
        "aliyun SendSms accepted",
        "aliyun",
        "aliyun",
        _json(
            {
                "Message": "OK",
                "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8D28D0",
                "Code": "OK",
                "BizId": "900619746936498440^0",
            }
        ),
        ("F655A8D5-B967-440B-8683-DAD6FF8D28D0", "900619746936498440^0", '"status":"OK"'),
        (),
    ),
    Payload(
        "aliyun SendSms throttled, with a diagnosis link",
        "aliyun",
        "aliyun",
        _json(
            {
                "Message": "触发号码天级流控Permits:10",
                "RequestId": "2184201F-BFB3-446B-B1F2-C746B7BF0657",
                "Code": "isv.BUSINESS_LIMIT_CONTROL",
                "Recommend": "https://next.api.aliyun.com/troubleshoot?q=isv.BUSINESS_LIMIT_CONTROL&product=Dysmsapi&phone=13812348000",
            }
        ),
        ("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控", "2184201F-BFB3-446B-B1F2-C746B7BF0657"),
        ("Recommend", "next.api.aliyun.com", "13812348000"),
    ),
    Payload(
        "aliyun SendSms with an illegal number",
        "dysms",
        "aliyun",
        _json(
            {
                "Message": "非法手机号 13812348000",
                "RequestId": "A1B2C3D4-0001-4C2D-9E8F-0123456789AB",
                "Code": "isv.MOBILE_NUMBER_ILLEGAL",
            }
        ),
        ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", '"kind":"error"'),
        ("13812348000",),
    ),
    Payload(
        "aliyun QuerySendDetails with the message body and phone number",
        "aliyun",
        "aliyun",
        _json(
            {
                "TotalCount": 2,
                "Message": "OK",
                "RequestId": "819BE656-D2E0-4858-8B21-B2E477085AAF",
                "SmsSendDetailDTOs": {
                    "SmsSendDetailDTO": [
                        {
                            "SendDate": "2026-11-27 18:44:10",
                            "SendStatus": 3,
                            "ReceiveDate": "2026-11-27 18:44:13",
                            "ErrCode": "DELIVERED",
                            "TemplateCode": "SMS_276450183",
                            "Content": "【招商银行】您的验证码为482913，5分钟内有效，请勿泄露。",
                            "PhoneNum": "13812348000",
                            "OutId": "order-20261127-884213",
                        },
                        {
                            "SendDate": "2026-11-27 18:50:00",
                            "SendStatus": 2,
                            "ReceiveDate": "2026-11-27 18:50:04",
                            "ErrCode": "MK:0001",
                            "TemplateCode": "SMS_276450183",
                            "Content": "【招商银行】尊敬的张伟，您尾号9847的账户于11月27日入账5,000.00元。",
                            "PhoneNum": "13812348000",
                            "OutId": "zhangwei-acct-9847",
                        },
                    ]
                },
                "Code": "OK",
            }
        ),
        (
            '"status":"delivered"',
            '"status":"failed"',
            "MK:0001",
            "DELIVERED",
            "2026-11-27T10:44:10Z",
            "2026-11-27T10:44:13Z",
            "2026-11-27T10:50:04Z",
        ),
        ("13812348000", "482913", "张伟", "9847", "order-20261127", "SMS_276450183", "招商银行"),
    ),
    Payload(
        "aliyun QuerySendDetails, waiting for a receipt",
        "Alibaba",
        "aliyun",
        _json(
            {
                "TotalCount": 1,
                "Message": "OK",
                "RequestId": "6C0B2F1E-3A4D-4E5F-8A9B-C0D1E2F3A4B5",
                "SmsSendDetailDTOs": {
                    "SmsSendDetailDTO": [
                        {
                            "SendDate": "2026-11-27 09:00:00",
                            "SendStatus": 1,
                            "ReceiveDate": "",
                            "ErrCode": "",
                            "TemplateCode": "SMS_153055065",
                            "Content": "【顺丰速运】您的快递已到达丰巢柜，取件码 71824639。",
                            "PhoneNum": "+85291234567",
                            "OutId": "",
                        }
                    ]
                },
                "Code": "OK",
            }
        ),
        ('"status":"waiting"', "2026-11-27T01:00:00Z"),
        ("71824639", "91234567", "取件码"),
    ),
    Payload(
        "aliyun SmsReport receipt, delivered",
        "aliyun",
        "aliyun",
        _json(
            [
                {
                    "phone_number": "13812348000",
                    "send_time": "2026-11-27 18:44:10",
                    "report_time": "2026-11-27 18:44:12",
                    "success": True,
                    "err_code": "DELIVERED",
                    "err_msg": "用户接收成功",
                    "sms_size": "1",
                    "biz_id": "932702304080415357^0",
                    "out_id": "user-zhangwei-13812348000",
                }
            ]
        ),
        ("932702304080415357^0", '"segments":1', "用户接收成功", "2026-11-27T10:44:12Z"),
        ("13812348000", "zhangwei", "out_id", "phone_number"),
    ),
    Payload(
        "aliyun SmsReport batch with a failure",
        None,
        "aliyun",
        _json(
            [
                {
                    "phone_number": "13912345678",
                    "send_time": "2026-11-27 08:00:01",
                    "report_time": "2026-11-27 08:00:09",
                    "success": False,
                    "err_code": "MN:0001",
                    "err_msg": "空号",
                    "sms_size": "2",
                    "biz_id": "108492873610287764^0",
                    "out_id": "otp-13912345678-liuyang",
                },
                {
                    "phone_number": "15012349876",
                    "send_time": "2026-11-27 08:00:01",
                    "report_time": "2026-11-27 08:00:03",
                    "success": True,
                    "err_code": "DELIVERED",
                    "err_msg": "用户接收成功",
                    "sms_size": "2",
                    "biz_id": "108492873610287765^0",
                    "out_id": "otp-15012349876-wangfang",
                },
            ]
        ),
        ("MN:0001", "空号", '"segments":2', '"status":"failed"', '"status":"delivered"'),
        ("13912345678", "15012349876", "liuyang", "wangfang"),
    ),
    # --- Twilio -----------------------------------------------------------------------
    Payload(
        "twilio message resource, queued, body with a code",
        "twilio",
        "twilio",
        _json(
            _TWILIO_MESSAGE_BASE
            | {
                "body": "Your Acme verification code is 739204. Don't share it.",
                "date_created": "Fri, 27 Nov 2026 10:00:00 +0000",
                "date_sent": None,
                "date_updated": "Fri, 27 Nov 2026 10:00:00 +0000",
                "error_code": None,
                "error_message": None,
                "num_segments": "1",
                "price": None,
                "sid": "SMd1c0a7e2f4b6c8d0e2f4a6b8c0d2e4f6",
                "status": "queued",
                "to": "+447700900461",
            }
        ),
        ("SMd1c0a7e2f4b6c8d0e2f4a6b8c0d2e4f6", '"status":"queued"', "2026-11-27T10:00:00Z"),
        ("739204", "+447700900461", "+14155550123", "MG9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d", "AC3f1e"),
    ),
    Payload(
        "twilio message resource, 30007 filtered, body with a login link",
        "twilio",
        "twilio",
        _json(
            _TWILIO_MESSAGE_BASE
            | {
                "body": f"Examplebank: sign in with {LOGIN_LINK}",
                "date_created": "Fri, 27 Nov 2026 10:00:00 +0000",
                "date_sent": "Fri, 27 Nov 2026 10:00:01 +0000",
                "date_updated": "Fri, 27 Nov 2026 10:00:05 +0000",
                "error_code": 30007,
                "error_message": "Message filtered",
                "num_segments": "2",
                "price": "-0.00790",
                "sid": "SMa5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0",
                "status": "undelivered",
                "to": "+15558675310",
            }
        ),
        ('"error_code":"30007"', "Message filtered", '"segments":2', "2026-11-27T10:00:05Z"),
        ("login.examplebank.com", "magic", "eyJhbGciOiJIUzI1NiJ9", "+15558675310", "0.00790"),
    ),
    Payload(
        "twilio message resource, delivered, priced",
        "twilio",
        "twilio",
        _json(
            _TWILIO_MESSAGE_BASE
            | {
                "body": "Hi Grace, your appointment at Riverside Clinic is on 2 Dec at 09:40.",
                "date_created": "Fri, 27 Nov 2026 10:00:00 +0000",
                "date_sent": "Fri, 27 Nov 2026 10:00:01 +0000",
                "date_updated": "Fri, 27 Nov 2026 10:00:04 +0000",
                "error_code": None,
                "error_message": None,
                "num_segments": "1",
                "price": "-0.00750",
                "sid": "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "status": "delivered",
                "to": "+15558675310",
            }
        ),
        ('"status":"delivered"', "2026-11-27T10:00:01Z", "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        ("Grace", "Riverside Clinic", "0.00750", "subresource_uris", "price"),
    ),
    Payload(
        "twilio status callback, delivered",
        "twilio",
        "twilio",
        urlencode(
            _TWILIO_CALLBACK_BASE
            | {
                "SmsSid": "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "SmsStatus": "delivered",
                "MessageStatus": "delivered",
                "MessageSid": "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "MessagingServiceSid": "MG9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
                "RawDlrDoneDate": "2611271000",
            }
        ),
        ('"status":"delivered"', "SM0f1e2d3c4b5a69788796a5b4c3d2e1f0", '"kind":"status"'),
        ("447700900461", "14155550123", "AC3f1e", "MG9a8b"),
    ),
    Payload(
        "twilio status callback, undelivered 30007, found by shape",
        None,
        "twilio",
        urlencode(
            _TWILIO_CALLBACK_BASE
            | {
                "MessageSid": "SMa5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0",
                "MessageStatus": "undelivered",
                "SmsStatus": "undelivered",
                "ErrorCode": "30007",
                "Body": f"Examplebank: sign in with {LOGIN_LINK}",
            }
        ),
        ('"error_code":"30007"', '"status":"undelivered"'),
        ("447700900461", "examplebank", "eyJhbGciOiJIUzI1NiJ9", "token"),
    ),
    Payload(
        "twilio status callback, failed 30008, WhatsApp channel",
        "TWILIO",
        "twilio",
        urlencode(
            {
                "ChannelPrefix": "whatsapp",
                "ChannelToAddress": "+4915112345678",
                "ChannelInstallSid": "XEcc20d939f803ee381f2442185d0d5dc5",
                "MessageSid": "SM7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29",
                "MessageStatus": "failed",
                "ErrorCode": "30008",
                "To": "whatsapp:+4915112345678",
                "From": "whatsapp:+14155238886",
                "AccountSid": "AC3f1e9b7c2d4a6e8f0b1c3d5e7f9a2b4c",
            }
        ),
        ('"error_code":"30008"', '"status":"failed"'),
        ("4915112345678", "14155238886", "whatsapp", "XEcc20"),
    ),
    Payload(
        "twilio error body 21211 echoing the number",
        "twilio",
        "twilio",
        _json(
            {
                "code": 21211,
                "message": "The 'To' number +15005550001 is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            }
        ),
        ('"error_code":"21211"', "is not a valid phone number", '"http_status":400'),
        ("+15005550001", "5005550001", "more_info", "twilio.com/docs"),
    ),
    Payload(
        "twilio error body 30007 with the message's login link",
        "twilio",
        "twilio",
        _json(
            {
                "code": 30007,
                "message": (
                    "Message from +14155550123 to +15558675310 was filtered as spam: "
                    "'Sign in now: https://secure.examplebank.com/l/9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"
                    "?session=eyJ1c2VyIjoiYWxpY2UifQ'"
                ),
                "more_info": "https://www.twilio.com/docs/errors/30007",
                "status": 400,
            }
        ),
        ('"error_code":"30007"', "was filtered as spam", TOKEN_MARK),
        ("9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c", "session=", "eyJ1c2VyIjoiYWxpY2UifQ", "4155550123"),
    ),
    Payload(
        "twilio error body 21610, unsubscribed recipient",
        None,
        "twilio",
        _json(
            {
                "code": 21610,
                "message": "Attempt to send to unsubscribed recipient",
                "more_info": "https://www.twilio.com/docs/errors/21610",
                "status": 400,
            }
        ),
        ('"error_code":"21610"', "unsubscribed recipient"),
        ("more_info",),
    ),
    # --- SendGrid ---------------------------------------------------------------------
    Payload(
        "sendgrid processed and delivered, with custom arguments",
        "sendgrid",
        "sendgrid",
        _json(
            [
                _SENDGRID_COMMON
                | {
                    "timestamp": 1795773600,
                    "event": "processed",
                    "sg_event_id": "rbtnWrG1DVDGGGFHFyun0A",
                    "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                },
                _SENDGRID_COMMON
                | {
                    "timestamp": 1795773661,
                    "event": "delivered",
                    "response": "250 2.0.0 OK 1795773661 qq.com",
                    "ip": "168.245.12.34",
                    "tls": 1,
                    "sg_event_id": "hqFbp3HH9WxIM0R2-x2M1Q",
                    "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                },
            ]
        ),
        (
            "rbtnWrG1DVDGGGFHFyun0A",
            "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            "2026-11-27T10:00:00Z",
            "2026-11-27T10:01:01Z",
            '"kind":"delivered"',
            "250 2.0.0 OK",
        ),
        ("li.na@qq.com", "usr_8812", "ORD-2026-118834", "password-reset", "ismtpd", "168.245"),
    ),
    Payload(
        "sendgrid bounce naming the address",
        "sendgrid",
        "sendgrid",
        _json(
            [
                {
                    "email": "wei.zhang@zhangwei-family.cn",
                    "timestamp": 1795774000,
                    "smtp-id": "<4FB29F5D.5080404@examplebank.com>",
                    "event": "bounce",
                    "bounce_classification": "Invalid Address",
                    "category": "statement",
                    "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw",
                    "sg_message_id": "LRzXl66hT4Sm7OG2t6O5Yw.filter0101p1las1-16816-5D1D2B7A-1.0",
                    "reason": "550 5.1.1 The email account wei.zhang@zhangwei-family.cn does not exist.",
                    "status": "5.1.1",
                    "type": "bounce",
                    "ip": "149.72.1.10",
                    "tls": 1,
                    "cert_err": 0,
                }
            ]
        ),
        (
            "5.1.1",
            "Invalid Address",
            '"category":"bounce"',
            "does not exist",
            "6g4ZI7SA-xmRDv57GoPIPw",
        ),
        ("wei.zhang@", "149.72.1.10", "4FB29F5D", "statement"),
    ),
    Payload(
        "sendgrid blocked by reputation",
        None,
        "sendgrid",
        _json(
            [
                {
                    "email": "jorge.garcia@telefonica.es",
                    "timestamp": 1795777200,
                    "event": "bounce",
                    "type": "blocked",
                    "bounce_classification": "Reputation",
                    "reason": "554 5.7.1 Service unavailable; Client host [149.72.1.10] blocked using Spamhaus",
                    "status": "5.7.1",
                    "sg_event_id": "Q1w2E3r4T5y6U7i8O9p0Aa",
                    "sg_message_id": "aBcDeFgHiJ.filter0042p1iad2-1234-5F6E7D8C-9.0",
                    "marketing_campaign_id": 8812,
                    "marketing_campaign_name": "Jorge Garcia winback",
                }
            ]
        ),
        ('"category":"blocked"', "Reputation", "5.7.1", "2026-11-27T11:00:00Z"),
        ("jorge.garcia", "Jorge Garcia winback", "marketing_campaign"),
    ),
    Payload(
        "sendgrid dropped",
        "sendgrid",
        "sendgrid",
        _json(
            [
                {
                    "email": "max.mustermann@gmx.de",
                    "timestamp": 1795773600,
                    "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
                    "event": "dropped",
                    "category": "cat facts",
                    "sg_event_id": "zmzJhfJgAfUSOW80yEbPyw",
                    "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                    "reason": "Bounced Address",
                    "status": "5.0.0",
                }
            ]
        ),
        ('"kind":"dropped"', "Bounced Address", "5.0.0"),
        ("max.mustermann", "cat facts"),
    ),
    Payload(
        "sendgrid deferred",
        "sendgrid",
        "sendgrid",
        _json(
            [
                {
                    "email": "yuki.tanaka@docomo.ne.jp",
                    "timestamp": 1795780000,
                    "event": "deferred",
                    "response": "421 4.7.0 [TSS04] Messages from 149.72.1.10 temporarily deferred",
                    "attempt": "5",
                    "sg_event_id": "t6QXzcnNQ5W5jNzOKvBXmQ",
                    "sg_message_id": "Yt5vL0a2Qp2uUq6zj3dL1g.filter0033p1mdw1-2-3-4-5.0",
                }
            ]
        ),
        ('"kind":"deferred"', "temporarily deferred", "2026-11-27T11:46:40Z"),
        ("yuki.tanaka",),
    ),
    Payload(
        "sendgrid open with IP address and user agent",
        "sendgrid",
        "sendgrid",
        _json(
            [
                {
                    "email": "li.na@qq.com",
                    "timestamp": 1795777200,
                    "event": "open",
                    "sg_machine_open": False,
                    "useragent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15",
                    "ip": "223.104.63.18",
                    "sg_event_id": "sZROwMGMagFgnOEmSdvhig",
                    "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                }
            ]
        ),
        ('"kind":"open"', "sZROwMGMagFgnOEmSdvhig"),
        ("223.104.63.18", "iPhone", "li.na"),
    ),
    Payload(
        "sendgrid click on a login link",
        "sendgrid",
        "sendgrid",
        _json(
            [
                {
                    "email": "hans.becker@web.de",
                    "timestamp": 1795777200,
                    "event": "click",
                    "ip": "91.64.22.107",
                    "useragent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    "url": CLICK_LINK,
                    "url_offset": {"index": 0, "type": "html"},
                    "sg_event_id": "kCAi1KttyQdEKHhdC-nuEA",
                    "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                }
            ]
        ),
        ('"kind":"click"', "kCAi1KttyQdEKHhdC-nuEA"),
        ("shop.example.de", "582910", "usr_8812", "91.64.22.107", "hans.becker", "url_offset"),
    ),
    Payload(
        "sendgrid unsubscribe and spam report",
        "sendgrid",
        "sendgrid",
        _json(
            [
                {
                    "email": "park.minjun@naver.com",
                    "timestamp": 1795777200,
                    "event": "group_unsubscribe",
                    "asm_group_id": 42,
                    "ip": "211.234.100.5",
                    "useragent": "Mozilla/5.0",
                    "url": "https://news.example.kr/unsub?u=park.minjun%40naver.com",
                    "sg_event_id": "dmVyaWZ5aW5nIGdyb3Vw",
                    "sg_message_id": "Abc123.filter0001p1.0",
                },
                {
                    "email": "park.minjun@naver.com",
                    "timestamp": 1795777200,
                    "event": "spamreport",
                    "sg_event_id": "c3BhbXJlcG9ydGV2ZW50",
                    "sg_message_id": "Abc123.filter0001p1.0",
                },
            ]
        ),
        ('"kind":"group_unsubscribe"', '"kind":"spamreport"'),
        ("park.minjun", "211.234.100.5", "asm_group_id", "news.example.kr"),
    ),
    # --- Amazon SES -------------------------------------------------------------------
    Payload(
        "ses bounce, raw notification with headers and subject",
        "amazon-ses",
        "ses",
        _json(_SES_BOUNCE),
        (
            '"kind":"Bounce"',
            '"category":"Permanent"',
            '"subcategory":"General"',
            "5.1.1",
            '"status":"failed"',
            "Recipient address rejected",
            "0102019b6c2f4a1e-3f7d9c21-8e4b-4a6f-9d2e-5b1c7a8f3e60-000000",
            "0102019b6c2f5c7d-6a1e0b2c-3d4f-4e5a-8b9c-0d1e2f3a4b5c-000000",
            "2026-11-27T10:00:01.311Z",
            "2026-11-27T09:59:58Z",
        ),
        (
            "anna.mueller",
            "804217",
            "sign-in code",
            "203.0.113.47",
            "185.97.174.199",
            "amazonses.com",
            "ses-sender-prod",
            "123456789012",
            "Müller",
        ),
    ),
    Payload(
        "ses bounce wrapped in SNS",
        "aws-ses",
        "ses",
        _sns(_SES_BOUNCE, "b8f6a1c2-7d3e-5f4a-9b0c-1d2e3f4a5b6c"),
        ('"category":"Permanent"', "b8f6a1c2-7d3e-5f4a-9b0c-1d2e3f4a5b6c", "5.1.1"),
        ("anna.mueller", "804217", "Signature", "Unsubscribe", "203.0.113.47", "TopicArn"),
    ),
    Payload(
        "ses bounce wrapped in SNS, found by shape",
        None,
        "ses",
        _sns(_SES_BOUNCE, "c9a7b2d3-8e4f-6a5b-0c1d-2e3f4a5b6c7d"),
        ('"kind":"Bounce"', '"provider":"ses"'),
        ("anna.mueller", "804217", "185.97.174.199"),
    ),
    Payload(
        "ses complaint with the complainer's address and user agent",
        "ses",
        "ses",
        _json(
            {
                "notificationType": "Complaint",
                "complaint": {
                    "userAgent": "Yahoo!-Mail-Feedback/2.0",
                    "complainedRecipients": [{"emailAddress": "anna.mueller@posteo.de"}],
                    "complaintFeedbackType": "abuse",
                    "arrivalDate": "2026-11-27T10:05:00.000Z",
                    "timestamp": "2026-11-27T10:05:03.000Z",
                    "feedbackId": "0102019b6c3a1b2c-aaaa1111-bbbb-2222-cccc-3333dddd4444-000000",
                },
                "mail": _SES_MAIL,
            }
        ),
        ('"kind":"Complaint"', '"category":"abuse"', "2026-11-27T10:05:03Z"),
        ("anna.mueller", "Yahoo", "804217", "arrivalDate"),
    ),
    Payload(
        "ses delivery with the recipient in the SMTP response",
        "ses",
        "ses",
        _json(_SES_DELIVERY),
        ('"kind":"Delivery"', '"processing_ms":2742', "250 2.0.0 OK", "2026-11-27T10:00:00.742Z"),
        ("anna.mueller", "185.97.174.199", "804217", "a8-31.smtp-out"),
    ),
    Payload(
        "ses delivery wrapped in SNS",
        "ses",
        "ses",
        _sns(_SES_DELIVERY, "d0b8c3e4-9f5a-7b6c-1d2e-3f4a5b6c7d8e"),
        ('"kind":"Delivery"', '"processing_ms":2742'),
        ("anna.mueller", "804217", "SigningCertURL"),
    ),
    Payload(
        "ses click event on a login link",
        "ses",
        "ses",
        _json(
            {
                "eventType": "Click",
                "mail": _SES_MAIL,
                "click": {
                    "ipAddress": "192.0.2.77",
                    "link": LOGIN_LINK,
                    "linkTags": {"purpose": ["signin"]},
                    "timestamp": "2026-11-27T10:02:00.000Z",
                    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1)",
                },
            }
        ),
        ('"kind":"Click"', "2026-11-27T10:02:00Z"),
        ("192.0.2.77", "login.examplebank.com", "eyJhbGciOiJIUzI1NiJ9", "Macintosh", "signin"),
    ),
    Payload(
        "ses open event",
        "ses",
        "ses",
        _json(
            {
                "eventType": "Open",
                "mail": _SES_MAIL,
                "open": {
                    "ipAddress": "192.0.2.78",
                    "timestamp": "2026-11-27T10:03:00.000Z",
                    "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)",
                },
            }
        ),
        ('"kind":"Open"', "2026-11-27T10:03:00Z"),
        ("192.0.2.78", "iPhone", "anna.mueller"),
    ),
    Payload(
        "ses reject event",
        "ses",
        "ses",
        _json({"eventType": "Reject", "mail": _SES_MAIL, "reject": {"reason": "Bad content"}}),
        ('"kind":"Reject"', "Bad content"),
        ("804217", "anna.mueller"),
    ),
    Payload(
        "ses delivery delay",
        "ses",
        "ses",
        _json(
            {
                "eventType": "DeliveryDelay",
                "mail": _SES_MAIL,
                "deliveryDelay": {
                    "timestamp": "2026-11-27T10:20:00.000Z",
                    "delayType": "MailboxFull",
                    "expirationTime": "2026-11-28T09:59:58.000Z",
                    "delayedRecipients": [
                        {
                            "emailAddress": "anna.mueller@posteo.de",
                            "status": "4.2.2",
                            "diagnosticCode": "smtp; 452 4.2.2 Mailbox full",
                        }
                    ],
                    "reportingMTA": "a8-31.smtp-out.eu-west-1.amazonses.com",
                },
            }
        ),
        ('"category":"MailboxFull"', "4.2.2", "Mailbox full"),
        ("anna.mueller", "amazonses.com"),
    ),
    Payload(
        "ses send event",
        "ses",
        "ses",
        _json({"eventType": "Send", "mail": _SES_MAIL, "send": {}}),
        ('"kind":"Send"', "0102019b6c2f4a1e-3f7d9c21-8e4b-4a6f-9d2e-5b1c7a8f3e60-000000"),
        ("804217", "anna.mueller", "203.0.113.47"),
    ),
    # --- FCM --------------------------------------------------------------------------
    Payload(
        "fcm v1 success",
        "fcm",
        "fcm",
        _json({"name": "projects/examplebank-prod/messages/0:1795773600123456%31bd1c9631bd1c96"}),
        ("projects/examplebank-prod/messages/0:1795773600123456%31bd1c9631bd1c96",),
        (),
    ),
    Payload(
        "fcm v1 unregistered token",
        "firebase",
        "fcm",
        _json(
            {
                "error": {
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
            }
        ),
        ('"error_code":"UNREGISTERED"', '"status":"NOT_FOUND"', '"http_status":404'),
        ("googleapis",),
    ),
    Payload(
        "fcm v1 invalid token echoed in message and field violations",
        "fcm",
        "fcm",
        _json(
            {
                "error": {
                    "code": 400,
                    "message": f"The registration token is not a valid FCM registration token: {FCM_TOKEN}",
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
                                    "description": f"Invalid token {FCM_TOKEN}",
                                }
                            ],
                        },
                    ],
                }
            }
        ),
        ('"error_code":"INVALID_ARGUMENT"', "not a valid FCM registration token", TOKEN_MARK),
        (FCM_TOKEN, FCM_TOKEN[:22], "APA91b", "fieldViolations"),
    ),
    Payload(
        "fcm v1 sender id mismatch, found by shape",
        None,
        "fcm",
        _json(
            {
                "error": {
                    "code": 403,
                    "message": "SenderId mismatch",
                    "status": "PERMISSION_DENIED",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                            "errorCode": "SENDER_ID_MISMATCH",
                        }
                    ],
                }
            }
        ),
        ('"error_code":"SENDER_ID_MISMATCH"', '"provider":"fcm"'),
        (),
    ),
    Payload(
        "fcm legacy multicast with a canonical registration id",
        "fcm",
        "fcm",
        _json(
            {
                "multicast_id": 6538766107640962234,
                "success": 2,
                "failure": 1,
                "canonical_ids": 1,
                "results": [
                    {"message_id": "0:1795773600123456%31bd1c9631bd1c96"},
                    {
                        "message_id": "0:1795773600123457%31bd1c9631bd1c96",
                        "registration_id": FCM_TOKEN,
                    },
                    {"error": "NotRegistered"},
                ],
            }
        ),
        (
            "6538766107640962234",
            '"succeeded":2',
            '"failed":1',
            '"canonical_ids":1',
            "NotRegistered",
            "0:1795773600123457%31bd1c9631bd1c96",
        ),
        (FCM_TOKEN, "registration_id", "APA91b"),
    ),
    Payload(
        "fcm legacy invalid registration",
        "gcm",
        "fcm",
        _json(
            {
                "multicast_id": 216,
                "success": 0,
                "failure": 1,
                "canonical_ids": 0,
                "results": [{"error": "InvalidRegistration"}],
            }
        ),
        ("InvalidRegistration", '"message_id":"216"'),
        (),
    ),
    # --- APNs -------------------------------------------------------------------------
    Payload(
        "apns bad device token",
        "apns",
        "apns",
        _json({"reason": "BadDeviceToken"}),
        ('"error_code":"BadDeviceToken"', '"provider":"apns"'),
        (),
    ),
    Payload(
        "apns unregistered with timestamp, found by shape",
        None,
        "apns",
        _json({"reason": "Unregistered", "timestamp": 1454402113000}),
        ('"error_code":"Unregistered"', "2016-02-02T08:35:13Z"),
        (),
    ),
    Payload(
        "apns response recorded with its apns-id, status and the device token",
        "apple",
        "apns",
        _json(
            {
                "apns-id": "EC1BF194-B3B2-424A-89A9-5A918A6E6B5C",
                "status": 410,
                "reason": "Unregistered",
                "timestamp": 1795773600000,
                "device_token": APNS_TOKEN,
                "topic": "com.examplebank.app",
            }
        ),
        ("EC1BF194-B3B2-424A-89A9-5A918A6E6B5C", '"http_status":410', "2026-11-27T10:00:00Z"),
        (APNS_TOKEN, "com.examplebank.app", "device_token"),
    ),
)

IDS = [payload.name for payload in PAYLOADS]


def _reduced(payload: Payload) -> str:
    return reduce_provider_text(payload.text, payload.provider)


def test_the_fixture_set_is_large_and_covers_every_provider() -> None:
    assert len(PAYLOADS) >= 40
    assert {payload.expect for payload in PAYLOADS} == {
        "aliyun",
        "twilio",
        "sendgrid",
        "ses",
        "fcm",
        "apns",
    }


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_allow_listed_values_are_kept(payload: Payload) -> None:
    reduced = _reduced(payload)
    for value in payload.kept:
        assert value in reduced, value


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_everything_else_is_dropped(payload: Payload) -> None:
    reduced = _reduced(payload)
    for value in payload.dropped:
        assert value not in reduced, value
    # No address and no device token survives any payload (a free-text field may keep
    # an address masked: its first character and domain).
    for address in (
        "anna.mueller@posteo.de",
        "li.na@qq.com",
        "max.mustermann@gmx.de",
        "hans.becker@web.de",
        "park.minjun@naver.com",
        "wei.zhang@zhangwei-family.cn",
    ):
        assert address not in reduced
    assert FCM_TOKEN[:16] not in reduced
    assert APNS_TOKEN[:16] not in reduced


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_a_payload_becomes_the_compact_json_of_its_provider(payload: Payload) -> None:
    reduced = _reduced(payload)
    outcome = msgspec.json.decode(reduced, type=ProviderOutcome)
    assert outcome.provider == payload.expect
    assert msgspec.json.encode(outcome).decode() == reduced  # compact, canonical order


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_reducing_a_reduced_payload_returns_it_unchanged(payload: Payload) -> None:
    reduced = _reduced(payload)
    assert reduce_provider_text(reduced, payload.provider) == reduced
    assert reduce_provider_text(reduced, None) == reduced
    assert reduce_provider_text(reduced, "some-other-provider") == reduced


@pytest.mark.parametrize(
    "payload", [p for p in PAYLOADS if p.provider is not None and p.expect != "apns"], ids=str
)
def test_known_formats_are_found_by_shape_when_the_record_names_no_provider(
    payload: Payload,
) -> None:
    assert reduce_provider_text(payload.text, None) == _reduced(payload)
    assert reduce_provider_text(payload.text, "a-provider-we-do-not-know") == _reduced(payload)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("aliyun", "aliyun"),
        ("Alibaba", "aliyun"),
        ("DYSMS", "aliyun"),
        ("alibaba_cloud", "aliyun"),
        ("twilio", "twilio"),
        (" Twilio ", "twilio"),
        ("SendGrid", "sendgrid"),
        ("ses", "ses"),
        ("Amazon SES", "ses"),
        ("aws_ses", "ses"),
        ("FCM", "fcm"),
        ("Firebase", "fcm"),
        ("apns", "apns"),
        ("Apple", "apns"),
    ],
)
def test_a_provider_is_named_by_any_of_its_aliases(name: str, canonical: str) -> None:
    parser = parser_named(name)
    assert parser is not None
    assert parser.name == canonical


@pytest.mark.parametrize("name", [None, "", "sinch", "aliyun:张伟", "twilio2"])
def test_other_names_select_no_parser(name: str | None) -> None:
    assert parser_named(name) is None


def test_apns_fields_mixed_with_others_are_not_taken_for_apns_by_shape() -> None:
    text = _json({"reason": "we could not reach +8613812348000", "ticket": "T-88"})
    reduced = reduce_provider_text(text, None)
    assert not reduced.startswith('{"provider"')
    assert "13812348000" not in reduced


def test_the_named_provider_wins_over_shape_detection() -> None:
    # An APNs body recorded with extra fields is only APNs when the record says so.
    text = _json({"reason": "BadDeviceToken", "token": APNS_TOKEN})
    assert '"provider":"apns"' in reduce_provider_text(text, "apns")
    assert APNS_TOKEN not in reduce_provider_text(text, "apns")


# --- Free text: unknown providers and unparseable payloads ----------------------------


def test_unknown_text_is_masked() -> None:
    reduced = reduce_provider_text("发送超时 for +8613812348000, code 482913", "sinch")
    assert reduced == "发送超时 for +8613******000, code ******"


def test_long_words_without_digits_are_not_taken_for_tokens() -> None:
    text = "Zustellung fehlgeschlagen: Rechtsschutzversicherungsgesellschaftenpostfach voll"
    assert reduce_provider_text(text, None) == text


def test_unknown_text_loses_device_tokens_and_link_keys() -> None:
    text = (
        f"push failed for token {FCM_TOKEN} (web push endpoint "
        f"https://fcm.googleapis.com/fcm/send/{FCM_TOKEN[:40]}?auth=k3y) see {LOGIN_LINK}"
    )
    reduced = reduce_provider_text(text, "webpush")
    assert "APA91b" not in reduced
    assert FCM_TOKEN[:22] not in reduced
    assert "auth=k3y" not in reduced
    assert "eyJhbGciOiJIUzI1NiJ9" not in reduced
    assert "c2Vzc2lvbjo3ZjNjOWExYjJkNGU1ZjZh" not in reduced
    assert "push failed for token" in reduced


def test_unknown_text_loses_hex_device_tokens() -> None:
    reduced = reduce_provider_text(f"APNs 410 Unregistered for device {APNS_TOKEN}", None)
    assert reduced == f"APNs 410 Unregistered for device {TOKEN_MARK}"


def test_unknown_text_longer_than_the_cap_is_cut_with_a_marker_that_counts() -> None:
    text = "Delivery report: the carrier answered with status REJECTD. " * 60
    reduced = reduce_provider_text(text, "sinch")
    assert reduced == text[:FREE_TEXT_CAP] + marker(len(text) - FREE_TEXT_CAP)
    assert reduced.endswith(f"[{len(text) - FREE_TEXT_CAP} more characters dropped]")


def test_a_cut_text_is_not_cut_again() -> None:
    reduced = reduce_provider_text("timeout; " * 500, None)
    assert reduce_provider_text(reduced, None) == reduced
    assert reduced.endswith("[3476 more characters dropped]")


def test_a_payload_of_a_known_format_that_is_broken_is_free_text() -> None:
    cut = PAYLOADS[0].text[:-5]
    reduced = reduce_provider_text(cut, "aliyun")
    assert reduced == mask_content(cut)
    assert "900619746936498440" not in reduced


def test_a_forged_reduced_text_keeps_only_values_of_the_right_shape() -> None:
    forged = _json(
        {
            "provider": "twilio",
            "status": "+8613812348000",
            "error_code": "13812348000",
            "message_id": "+8613812348000",
            "request_id": "anna.mueller@posteo.de",
            "at": "yesterday",
            "segments": -3,
            "error_message": "call me on +8613812348000",
        }
    )
    reduced = reduce_provider_text(forged, None)
    assert reduced == '{"provider":"twilio","error_message":"call me on +8613******000"}'


def test_a_reduced_text_with_an_unknown_field_is_not_trusted() -> None:
    forged = _json({"provider": "twilio", "status": "delivered", "to": "+8613812348000"})
    reduced = reduce_provider_text(forged, None)
    assert reduced == mask_content(forged)
    assert "13812348000" not in reduced


def test_long_error_messages_are_capped_inside_the_json() -> None:
    text = _json({"code": 30007, "message": "Message filtered. " * 100, "status": 400})
    outcome = msgspec.json.decode(reduce_provider_text(text, "twilio"), type=ProviderOutcome)
    assert outcome.error_message is not None
    assert outcome.error_message.endswith(marker(18 * 100 - FIELD_TEXT_CAP))


def test_a_large_batch_keeps_its_first_items_and_counts_the_rest() -> None:
    events = [
        {
            "email": f"user{n}@qq.com",
            "timestamp": 1795773600 + n,
            "event": "delivered",
            "sg_event_id": f"event{n:04d}",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        }
        for n in range(MAX_ITEMS + 12)
    ]
    reduced = reduce_provider_text(_json(events), "sendgrid")
    outcome = msgspec.json.decode(reduced, type=ProviderOutcome)
    assert outcome.items is not None
    kept = len(outcome.items)
    assert outcome.items_dropped == MAX_ITEMS + 12 - kept
    assert outcome.items[0].event_id == "event0000"
    assert len(reduced) <= MAX_REDUCED_CHARS
    assert reduce_provider_text(reduced, None) == reduced


def test_none_stays_none() -> None:
    assert reduced_or_none(None, "twilio") is None
    assert reduced_or_none("timeout", None) == "timeout"


# --- Properties -----------------------------------------------------------------------

_PROVIDER_NAMES = st.sampled_from(
    [None, "aliyun", "twilio", "sendgrid", "ses", "fcm", "apns", "Apple", "unknown"]
) | st.text(max_size=12)
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "provider",
                    "kind",
                    "status",
                    "error_code",
                    "error_message",
                    "message_id",
                    "at",
                    "items",
                    "segments",
                    "Code",
                    "Message",
                    "BizId",
                    "RequestId",
                    "sid",
                    "code",
                    "message",
                    "more_info",
                    "event",
                    "timestamp",
                    "sg_event_id",
                    "reason",
                    "notificationType",
                    "mail",
                    "bounce",
                    "Type",
                    "error",
                    "details",
                    "name",
                    "multicast_id",
                    "results",
                    "phone_number",
                    "biz_id",
                    "success",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=20,
)
_TEXTS = (
    st.text(max_size=3000)
    | _JSON_VALUES.map(json.dumps)
    | st.sampled_from([p.text for p in PAYLOADS])
    | st.sampled_from([p.text for p in PAYLOADS]).flatmap(
        lambda text: st.integers(0, len(text)).map(lambda cut: text[:cut])
    )
)


@settings(max_examples=300, deadline=None)
@given(_TEXTS, _PROVIDER_NAMES)
def test_reduction_is_total_and_idempotent(text: str, provider: str | None) -> None:
    reduced = reduce_provider_text(text, provider)
    assert reduce_provider_text(reduced, provider) == reduced
    assert reduce_provider_text(reduced, None) == reduced


@settings(max_examples=300, deadline=None)
@given(_TEXTS, _PROVIDER_NAMES)
def test_reduction_is_bounded(text: str, provider: str | None) -> None:
    reduced = reduce_provider_text(text, provider)
    if reduced.startswith('{"provider"'):
        assert len(reduced) <= MAX_REDUCED_CHARS
    else:
        assert len(reduced) <= FREE_TEXT_CAP + MAX_MARKER_CHARS


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=9, max_size=14), _PROVIDER_NAMES)
def test_no_phone_number_comes_through_any_field(number: str, provider: str | None) -> None:
    document = {
        "provider": "twilio",
        "status": number,
        "error_code": number,
        "message_id": f"+{number}",
        "event_id": number,
        "error_message": f"for +{number}",
    }
    reduced = reduce_provider_text(_json(document), provider)
    assert number not in reduced


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=40)
    | st.integers()
    | st.floats()
    | st.datetimes().map(lambda moment: moment.isoformat())
)
def test_reading_a_time_never_raises_and_gives_utc_or_nothing(value: object) -> None:
    read = instant(value)
    assert read is None or (read.endswith("Z") and instant(read) == read)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fri, 27 Nov 2026 10:00:00 +0000", "2026-11-27T10:00:00Z"),
        ("Mon, 24 Dec 2018 16:58:22 +0800", "2018-12-24T08:58:22Z"),
        ("2026-11-27T10:00:01.311Z", "2026-11-27T10:00:01.311Z"),
        (1795773600, "2026-11-27T10:00:00Z"),
        ("1795773600", None),
        ("", None),
        ("tomorrow", None),
        ("0001-01-01T00:00:00Z", None),
    ],
)
def test_times_are_read_in_the_formats_providers_write(value: object, expected: str | None) -> None:
    assert instant(value) == expected


def test_aliyun_times_without_offset_are_china_standard_time() -> None:
    assert china_time("2026-11-27 18:44:10") == "2026-11-27T10:44:10Z"


@pytest.mark.parametrize(
    "value",
    ["<14c5d75ce93.dfd.64b469@ismtpd-555>", "a\\b", 'a"b', "+8613812348000", "8613812348000"],
)
def test_values_that_are_not_provider_ids_are_not_kept_as_ids(value: str) -> None:
    forged = _json({"provider": "sendgrid", "message_id": value, "status": "delivered"})
    assert reduce_provider_text(forged, None) == '{"provider":"sendgrid","status":"delivered"}'


# --- Ids must have their provider's shape (found by an attack on the running service) ----

_PHONE, _TOKEN_TEXT = "+8613812348000", "dGVzdHRva2VuMTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3A"


@pytest.mark.parametrize(
    ("provider", "document", "forbidden"),
    [
        ("aliyun", {"Code": "OK", "RequestId": "138-1234-8000", "BizId": "tel:+8613812348000"}, ["1234"]),
        ("aliyun", {"Code": "OK", "RequestId": "203.0.113.77", "BizId": "user-zhangwei-13812348"}, ["203.0.113", "zhangwei"]),
        ("aliyun", {"Code": "OK", "RequestId": _TOKEN_TEXT, "BizId": "ab" + _PHONE}, [_TOKEN_TEXT, "13812348000"]),
        ("fcm", {"name": f"projects/p/messages/{_PHONE}"}, ["13812348000"]),
        ("apns", {"reason": "Unregistered", "apns-id": "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad"}, ["740f4707"]),
        ("sendgrid", [{"event": "delivered", "sg_event_id": "zhang.wei%40zhangwei-family.cn", "sg_message_id": "138.1234.8000", "timestamp": 1764288000}], ["zhang", "1234"]),
        ("twilio", {"sid": "SM13812348000", "status": "failed"}, ["13812348000"]),
    ],
)  # fmt: skip
def test_an_id_not_shaped_as_its_provider_writes_ids_is_dropped(
    provider: str, document: Any, forbidden: list[str]
) -> None:
    reduced = reduce_provider_text(_json(document), provider)
    for value in forbidden:
        assert value not in reduced


def test_a_forged_reduced_text_keeps_no_id_of_another_shape() -> None:
    forged = _json(
        {
            "provider": "twilio",
            "items": [{"message_id": "138.1234.8000"}, {"request_id": "13812348000x"}],
        }
    )
    reduced = reduce_provider_text(forged, None)
    assert "1234" not in reduced
    assert "13812348000" not in reduced


@pytest.mark.parametrize(
    ("provider", "value"),
    [
        ("aliyun", "9006197469364984^0"),
        ("aliyun", "F655A8D5-B967-440B-8683-DAD6FF8DE990"),
        ("twilio", "SM" + "0abb1f66a1e6dbeb39a60b20702319d9"),
        ("sendgrid", "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"),
        ("ses", "0102019076b378ce-a5a225ac-9fd5-9504-4aeb-0ef1f93165fa-000000"),
        ("fcm", "projects/demo-bank/messages/0:1500415314455276%31bd1c9631bd1c96"),
        ("apns", "EC1BF194-B3B2-424A-89A9-5A918A6E6B5D"),
    ],
)
def test_real_ids_of_each_provider_have_its_shape(provider: str, value: str) -> None:
    assert identifier(value, provider) == value
    assert identifier(value, "twilio" if provider != "twilio" else "apns") is None


def test_a_year_below_1000_in_an_rfc_2822_time_is_dropped_not_moved_to_2001() -> None:
    assert instant("Mon, 01 Jan 0001 00:00:00 +1400") is None
    assert instant("Thu, 30 Jul 2015 20:12:33 +0000") == "2015-07-30T20:12:33Z"
