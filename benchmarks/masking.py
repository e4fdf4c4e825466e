"""What the free-text masking rules cost: the rules before issue 8 against today's.

Loads the implementation of commit ``cee05c7`` (``git show cee05c7:policies/masking.py``)
into a module object and times it and :func:`policies.masking.mask_content` on the same
realistic bodies (SMS and e-mail texts in zh, en, ja, ko, de, es, fr, and provider
payloads), in one run, interleaved so both see the same machine load. Reports, per
body group and overall, the median microseconds per body and per character, and the
ratio new / old.

Run with ``make bench-masking`` (or ``.venv/bin/python -m benchmarks.masking``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
import types
from collections.abc import Callable
from pathlib import Path

from policies.masking import mask_content

OLD_COMMIT = "cee05c7"
REPOSITORY = Path(__file__).resolve().parent.parent

BODIES: dict[str, list[str]] = {
    "sms zh": [
        "【中国银行】您的验证码是482913，5分钟内有效，请勿泄露。如非本人操作请致电95566。",
        "【招商银行】您尾号9847的储蓄卡10月08日14:32支出22376.33元，余额2,775.40元。",
        "【菜鸟驿站】您的取件码为 JQR-737，请凭码到驿站取件，详情 t.cn/A6x7YzQ 退订回T",
        "【12306】订单E123456789，张先生您已购10月8日G1234次12车7F号，北京南站08:00开。",
        "【京东】您的订单20261008123456已发货，快递员电话13812348000，请保持电话畅通。",
    ],
    "sms en/de/es/fr": [
        "Your Amazon verification code is 482913. Don't share it with anyone.",
        "Your card ending in 4821 was charged $1,234.56 at AMAZON MKTPLACE on 10/08/2026.",
        "Ihr Bestätigungscode lautet: X9K2PL. Er ist 10 Minuten gültig. Ihre Sparkasse",
        "Tu código de verificación es 8HJ3KD. Tarjeta terminada en 5521, importe 50,00 EUR.",
        "Votre code de vérification est : 5TZ8QA. Ne le communiquez à personne.",
    ],
    "sms ja/ko": [
        "【LINE】認証コード：4KX9P2 このコードを他人に教えないでください。",
        "三井住友カード下4桁5678 ご利用金額 12,800円 2026年10月8日 14:30",
        "[카카오] 인증번호 [K7M2X9]를 입력해주세요. 타인 노출 금지",
        "[신한카드] 2026년 10월 8일 카드 끝자리 1234 50000원 결제 승인 고객센터 1544-7000",
    ],
    "email": [
        (
            "Hello Alex,\n\nWe received a request to reset the password for alex.doe@example.com. "
            "Click https://accounts.example.com/reset/9f8a7b6c5d4e3f2a1b0c?utm_source=email "
            "within 24 hours. Your temporary password is Xk#9pL!2.\n\nIf you did not request "
            "this, call us at 1-800-555-0199 or reply to support@example.com.\n\n"
            "Order 112-4567890-1234567 · Flight BA0117 on 2026-10-08 · Total $1,234.56\n"
            "© 2026 Example, Inc. 410 Terry Ave N, Seattle, WA 98109"
        ),
        (
            "您好，张伟：\n您于2026年10月8日在本行申请的信用卡已批核，卡号尾号9847，额度50000元。"
            "初始密码为 Ab3#kd9x，请登录 https://m.bank.example.cn/activate/AbC123xyz789 激活。"
            "如有疑问请致电95588或发送邮件至 service@bank.example.cn。"
        ),
    ],
    "provider payloads": [
        (
            '{"code": 21211, "message": "The \'To\' number +14155552671 is not a valid phone '
            'number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}'
        ),
        (
            '{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发小时级流控Permits:5",'
            '"RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990","BizId":"900619746936498440^0"}'
        ),
        (
            "smtp; 550 5.1.1 <zhang.wei@example.cn>: Recipient address rejected: User unknown "
            "in virtual mailbox table (Reporting-MTA: dns; a8-31.smtp-out.amazonses.com)"
        ),
    ],
}


def load_old_masking() -> types.ModuleType:
    """The masking module as it was at :data:`OLD_COMMIT`, as a module object."""
    source = subprocess.run(  # noqa: S603 - a fixed git command on our own repository
        ["git", "show", f"{OLD_COMMIT}:policies/masking.py"],  # noqa: S607
        cwd=REPOSITORY,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("old_masking")
    module.__dict__["__name__"] = "old_masking"
    exec(compile(source, f"{OLD_COMMIT}:policies/masking.py", "exec"), module.__dict__)  # noqa: S102
    return module


def _time_once(mask: Callable[[str], object], bodies: list[str], loops: int) -> float:
    started = time.perf_counter()
    for _ in range(loops):
        for body in bodies:
            mask(body)
    return (time.perf_counter() - started) / loops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41, help="timed rounds per group")
    parser.add_argument("--loops", type=int, default=50, help="passes over the group per round")
    arguments = parser.parse_args()
    old = load_old_masking().mask_content
    new = mask_content

    print("| bodies | chars | old µs/body | new µs/body | old ns/char | new ns/char | new/old |")
    print("|---|---|---|---|---|---|---|")
    all_old: list[float] = []
    all_new: list[float] = []
    total_chars = 0
    for name, bodies in BODIES.items():
        chars = sum(len(body) for body in bodies)
        total_chars += chars
        for _ in range(3):  # warm up both (regex caches, branch predictors)
            _time_once(old, bodies, 5)
            _time_once(new, bodies, 5)
        old_samples, new_samples = [], []
        for _ in range(arguments.rounds):
            old_samples.append(_time_once(old, bodies, arguments.loops))
            new_samples.append(_time_once(new, bodies, arguments.loops))
        old_median = statistics.median(old_samples)
        new_median = statistics.median(new_samples)
        all_old.append(old_median)
        all_new.append(new_median)
        print(
            f"| {name} ({len(bodies)}) | {chars} "
            f"| {old_median / len(bodies) * 1e6:.1f} | {new_median / len(bodies) * 1e6:.1f} "
            f"| {old_median / chars * 1e9:.0f} | {new_median / chars * 1e9:.0f} "
            f"| {new_median / old_median:.2f} |"
        )
    old_total, new_total = sum(all_old), sum(all_new)
    print(
        f"| all ({sum(len(b) for b in BODIES.values())}) | {total_chars} "
        f"| | | {old_total / total_chars * 1e9:.0f} | {new_total / total_chars * 1e9:.0f} "
        f"| {new_total / old_total:.2f} |"
    )


if __name__ == "__main__":
    main()
