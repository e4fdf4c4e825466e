"""Aliyun (Alibaba Cloud) SMS: SendSms and QuerySendDetails responses, SmsReport receipts.

Kept: the request's ``Code`` (as the error code when it is not ``OK``) and ``Message``,
``RequestId``, ``BizId`` (the send's id); per detail row ``SendStatus`` (1 waiting,
2 failed, 3 delivered), ``ErrCode``, ``SendDate``, ``ReceiveDate``; per receipt
``success``, ``err_code``, ``err_msg``, ``sms_size``, ``send_time``, ``report_time``,
``biz_id``. Dropped: ``PhoneNum``/``phone_number`` (the recipient again), ``Content`` (the
message body), ``OutId``/``out_id`` (the sender's own reference, often an order or user
number), ``TemplateCode`` (the record has its template id), ``Recommend`` (a diagnosis
link that repeats the request). Aliyun writes times in China Standard Time (UTC+8).
"""

from __future__ import annotations

from typing import Any

from policies.providers.outcome import ProviderOutcome, china_time, first

NAME = "aliyun"
ALIASES = frozenset({"aliyun", "alibaba", "alibabacloud", "alibaba-cloud", "alicloud", "dysms"})

_SEND_STATUS = {1: "waiting", 2: "failed", 3: "delivered"}
_TRUE = (True, "true", "TRUE", "True")
_FALSE = (False, "false", "FALSE", "False")


def parse(document: Any) -> ProviderOutcome | None:
    """The allow-listed fields of an Aliyun SMS document, or None if it is not one."""
    if isinstance(document, list):
        return _receipts(document)
    if isinstance(document, dict) and "phone_number" in document and "biz_id" in document:
        return _receipts([document])
    if not isinstance(document, dict) or not isinstance(document.get("Code"), str):
        return None
    if not ({"RequestId", "BizId", "Message"} & document.keys()):
        return None
    response_code = document["Code"]
    ok = response_code == "OK"
    details = first(document, "SmsSendDetailDTOs", "smsSendDetailDTOs")
    rows = details.get("SmsSendDetailDTO") if isinstance(details, dict) else details
    items = (
        [_detail(row) for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []
    )
    kind = "query" if details is not None else ("send" if "BizId" in document else "response")
    return ProviderOutcome(
        provider=NAME,
        kind=kind if ok else "error",
        status="OK" if ok else None,
        error_code=None if ok else response_code,
        error_message=None if ok else document.get("Message"),
        message_id=document.get("BizId"),
        request_id=document.get("RequestId"),
        items=items or None,
    )


def _detail(row: dict[str, Any]) -> ProviderOutcome:
    status = first(row, "SendStatus", "sendStatus")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    return ProviderOutcome(
        status=_SEND_STATUS.get(status) if isinstance(status, int) else None,
        error_code=first(row, "ErrCode", "errCode"),
        sent_at=china_time(first(row, "SendDate", "sendDate")),
        at=china_time(first(row, "ReceiveDate", "receiveDate")),
    )


def _receipts(rows: list[Any]) -> ProviderOutcome | None:
    """SmsReport: a list of delivery receipts, each naming its phone number and send."""
    if not rows or not all(
        isinstance(row, dict) and "phone_number" in row and ("biz_id" in row or "success" in row)
        for row in rows
    ):
        return None
    items = []
    for row in rows:
        success = row.get("success")
        status = "delivered" if success in _TRUE else "failed" if success in _FALSE else None
        items.append(
            ProviderOutcome(
                status=status,
                error_code=row.get("err_code"),
                error_message=row.get("err_msg"),
                message_id=row.get("biz_id"),
                segments=row.get("sms_size"),
                sent_at=china_time(row.get("send_time")),
                at=china_time(row.get("report_time")),
            )
        )
    return ProviderOutcome(provider=NAME, kind="report", items=items)
