"""Free-text masking on real message shapes: what must be hidden, what must stay readable.

Each case is a message as a bank, clinic, shop, carrier or government service sends it
(zh, en, ja, ko, de, es, fr), with the values that must not survive masking and the
values a person needs to recognise the message. The annotated corpus (tests/corpus)
measures the same rules at scale; these are the development examples, one per shape.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from policies.masking import mask_content
from policies.masking_vocabulary import (
    AMOUNT,
    CODE,
    ERROR,
    HOTLINE,
    HOTLINES,
    KEYWORDS,
    LAST_FOUR,
    ORDER,
    SHORTENER_HOSTS,
    TRAVEL,
)


def masked(text: str) -> str:
    result = mask_content(text)
    assert result is not None
    assert mask_content(result) == result, "masking must be idempotent"
    return result


def assert_hidden(result: str, secret: str) -> None:
    assert secret not in result
    # no run of 4 of its characters survives either (a code keeps no readable half)
    letters_and_digits = re.sub(r"[^0-9A-Za-z]", "", secret)
    for start in range(len(letters_and_digits) - 3):
        assert letters_and_digits[start : start + 4] not in re.sub(r"[^0-9A-Za-z]", "", result)


# --- credentials ---------------------------------------------------------------------

CREDENTIALS = [
    # codes with letters near a code word, in every supported language
    ("【京东】您的验证码为 2C2ZRJ，5分钟内有效，请勿泄露。", "2C2ZRJ"),
    ("【菜鸟驿站】您的取件码为 JQR-737，请凭码到驿站取件。", "JQR-737"),
    ("您的动态密码：7K3M9Q，请在页面输入。", "7K3M9Q"),
    ("Your Microsoft verification code is A7X2KQ. It expires in 10 minutes.", "A7X2KQ"),
    ("Use OTP 9XK2M7 to log in to your HDFC Bank NetBanking. Do not share it.", "9XK2M7"),
    ("Your passcode: G5H2P8", "G5H2P8"),
    ("Your Steam Guard code is KXQJZ", "KXQJZ"),
    ("您的提货码为【WQRTZ】", "WQRTZ"),
    ("【LINE】認証コード：4KX9P2 このコードを入力してください。", "4KX9P2"),
    ("確認コードは 7T2R9W です。", "7T2R9W"),
    ("[카카오] 인증번호 [K7M2X9]를 입력해주세요.", "K7M2X9"),
    ("[네이버] 인증코드 Q2W8E4 (타인 노출 금지)", "Q2W8E4"),
    ("Ihr Bestätigungscode lautet: X9K2PL. Er ist 10 Minuten gültig.", "X9K2PL"),
    ("Ihre TAN für die Überweisung: 4K8M2Q", "4K8M2Q"),
    ("Tu código de verificación es 8HJ3KD. No lo compartas.", "8HJ3KD"),
    ("Votre code de vérification est : 5TZ8QA", "5TZ8QA"),
    # booking references open "manage my booking" with a surname: credentials
    ("Booking reference: ESDVP5. Passport on file", "ESDVP5"),
    ("Booking reference: UJGJLK. Passport on file", "UJGJLK"),
    ("Ihre Fahrkarte: ICE 1327. Auftragsnummer RJNCDU.", "RJNCDU"),
    ("Renfe: tu billete AVE 07784. Localizador: WMYVJA.", "WMYVJA"),
    ("SNCF Connect : votre TGV INOUI 7972 part à 13:15. Référence BQFUUB.", "BQFUUB"),
    ("のぞみ119号 20:45発のご予約を承りました。予約番号：L3BFQM", "L3BFQM"),
    ("[코레일] KTX 483 17:05 출발 승차권이 발권되었습니다. 예약번호 TUKZ4G", "TUKZ4G"),
    ("【微医】您已成功预约协和医院内科门诊，就诊码wx2d32，请提前15分钟到达。", "wx2d32"),
    # a code of lowercase letters, as the whole predicate of a code word
    ("Your Kontora verification code is jwculk. It expires in 15 minutes.", "jwculk"),
    ("Tu código es qzvbrt.", "qzvbrt"),
    # a code word after the code
    ("2C2ZRJ 是您的登录验证码，请勿告诉他人。", "2C2ZRJ"),
    ("K3J9X2 is your Instagram code. Don't share it.", "K3J9X2"),
    # split codes
    ("Your Amazon code: 505-412", "505-412"),
    ("验证码：1 2 3 4 5 6，请勿泄露", "1 2 3 4 5 6"),
    ("Ihr Code: 12.34.56", "12.34.56"),
    ("인증번호 482 913", "482 913"),
    ("Código: 73-84-21", "73-84-21"),
    # pickup codes written shelf-layer-number
    ("【丰巢】取件码 12-3-4005，请于今日20:00前取件", "12-3-4005"),
    # plain digit codes, including long ones after a code word
    ("您的验证码是482913，5分钟内有效。", "482913"),
    ("Your security code is 123456789012.", "123456789012"),
    # CVV, PIN
    ("Card verification: CVV 842, expiry 09/29", "CVV 842"),
    ("您的信用卡安全码 317 请妥善保管", "317"),
    ("Your new PIN is 4821.", "4821"),
    # temporary passwords
    ("Your temporary password is Xk#9pL!2. Please change it after login.", "Xk#9pL!2"),
    ("【人事系统】您的初始密码为 Ab3#kd9x，请尽快修改。", "Ab3#kd9x"),
    ("仮パスワード：Tq7$mN2v でログインしてください。", "Tq7$mN2v"),
    ("임시 비밀번호는 Rz5!qW8e 입니다.", "Rz5!qW8e"),
    ("Ihr vorläufiges Passwort lautet: Sommer2026!", "Sommer2026"),
    ("Tu contraseña temporal es: Pq9&zT4m", "Pq9&zT4m"),
    ("Votre mot de passe provisoire : Lm3@xV8c", "Lm3@xV8c"),
    # gift and recovery codes
    ("Your Amazon gift card claim code: ABCD-EFGH-JKLM", "ABCD-EFGH-JKLM"),
    ("Recovery codes: 4F7K-9Q2M 8X3P-6T1R", "4F7K-9Q2M"),
    ("Gift card: 6Q2M-8K3X-P7T4-9R2W", "6Q2M-8K3X-P7T4-9R2W"),
    # tokens and keys
    (
        "Session: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_Xg",
        "eyJhbGciOiJIUzI1NiJ9",
    ),
    ("Stripe key sk_live_4eC39HqLyjWDarjtT1zdp7dc was rotated", "4eC39HqLyjWDarjtT1zdp7dc"),
    ("pk_test_TYooMQauvdEDq54NiTphI7jx", "TYooMQauvdEDq54NiTphI7jx"),
    ("AWS key AKIAIOSFODNN7EXAMPLE leaked", "AKIAIOSFODNN7EXAMPLE"),
    ("token ghp_16C7e42F292c6912E7710c838347Ae178B4a", "16C7e42F292c6912E7710c838347Ae178B4a"),
    ("slack xoxb-2644918123-4859237654-AbCdEfGhIjKlMnOp", "AbCdEfGhIjKlMnOp"),
    ("maps AIzaSyA1B2C3D4E5F6G7H8I9J0KLMNOPQRSTUVW", "AIzaSyA1B2C3D4E5F6G7H8I9J0KLMNOPQRSTUVW"),
    (
        "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",
        "ngeVfQFYQlKU0ufo8x5d1A",
    ),
    ("Authorization: Bearer 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"),
    # links that authenticate
    ("Sign in: https://app.example.com/login/9f8a7b6c5d4e3f2a1b0c", "9f8a7b6c5d4e3f2a1b0c"),
    ("Reset: https://example.com/r/AbC123xyz", "AbC123xyz"),
    ("Magic link https://notion.so/loginwithemail#token=AbC123xyz789", "AbC123xyz789"),
    ("【淘宝】您的订单已发货，详情 t.cn/A6x7YzQ 退订回T", "A6x7YzQ"),
    ("Track: https://bit.ly/3xYzAbc", "3xYzAbc"),
    ("Details: tinyurl.com/y3k8abcd", "y3k8abcd"),
    ("查看账单 url.cn/5XyZabc", "5XyZabc"),
    ("Tap https://amzn.to/3Qx9Zk2 to confirm", "3Qx9Zk2"),
    # a short host and one key-shaped segment is a short link, listed or not
    ("配送状況：https://amzn.asia/4xcuOe", "4xcuOe"),
    ("配送状況：amzn.asia/yVwOXMx5", "yVwOXMx5"),
    ("배송조회 https://me2.kr/3F5paUI", "3F5paUI"),
    ("Suivi : https://lnk.fr/Q8B3BZ", "Q8B3BZ"),
    # payloads that echo the parameters of a send
    ('{"TemplateParam":"{\\"code\\":\\"482913\\"}","SignName":"京东"}', "482913"),
    ('{"otp": "2C2ZRJ", "status": "sent"}', "2C2ZRJ"),
    ('{"code":"A7X2KQ"}', "A7X2KQ"),
]


@pytest.mark.parametrize(("text", "secret"), CREDENTIALS, ids=lambda value: value[:24])
def test_credentials_are_hidden(text: str, secret: str) -> None:
    assert_hidden(masked(text), secret)


@pytest.mark.parametrize("host", sorted(SHORTENER_HOSTS))
def test_the_whole_path_of_every_listed_link_shortener_is_hidden(host: str) -> None:
    result = masked(f"see https://{host}/abcDEF and {host}/xyz")
    assert "abcDEF" not in result
    assert "xyz" not in result
    assert host in result


# --- identifiers ---------------------------------------------------------------------

IDENTIFIERS = [
    ("身份证号 11010519491231002X 已登记", "11010519491231002X"),
    ("Your SSN 123-45-6789 is on file", "123-45-6789"),
    ("SSN: 123456789", "123456789"),
    ("NI number QQ 32 83 67 C", "QQ 32 83 67 C"),
    ("Ihre Steuer-ID 12 345 678 901 wurde übermittelt", "12 345 678 901"),
    ("Steueridentifikationsnummer 12345678901", "12345678901"),
    # a Steuer-ID can have the shape of a Chinese mobile number: hidden whole all the same
    ("ELSTER: Ihr Abrufcode für die Steuer-ID 17652410213 lautet KGS-290.", "17652410213"),
    ("Reisepass C01X00T47 gültig bis 2031", "C01X00T47"),
    ("DNI 12345678Z verificado", "12345678Z"),
    ("NIE X1234567L", "X1234567L"),
    ("NIR 1 84 12 76 451 089 46", "1 84 12 76 451 089 46"),
    ("マイナンバー 1234 5678 9012 を確認しました", "1234 5678 9012"),
    ("주민등록번호 900101-1234567 확인", "900101-1234567"),
    ("Aadhaar 2345 6789 0123 linked", "2345 6789 0123"),
    ("PAN ABCDE1234F verified", "ABCDE1234F"),
    ("Passport number E12345678 expires soon", "E12345678"),
    ("护照号 E98765432", "E98765432"),
]


@pytest.mark.parametrize(("text", "identifier"), IDENTIFIERS, ids=lambda value: value[:24])
def test_identifiers_are_hidden(text: str, identifier: str) -> None:
    result = masked(text)
    assert identifier not in result
    digits = re.sub(r"\D", "", identifier)
    # at most the last four digits of an identifier may remain
    shown = re.sub(r"\D", "", result)
    assert digits[:-4] not in shown or len(digits) <= 4


@pytest.mark.parametrize(
    ("text", "kept_tail", "hidden_head"),
    [
        ("IBAN DE89 3704 0044 0532 0130 00", "30 00", "3704 0044"),
        ("IBAN ES91 2100 0418 4502 0005 1332", "1332", "2100 0418"),
        ("IBAN FR14 2004 1010 0505 0001 3M02 606", "2 606", "2004 1010"),
        ("Karte 4111 1111 1111 1111", "1111", "4111 1111 1111"),
        ("卡号 6222-0212-3456-7890 已绑定", "7890", "6222-0212"),
    ],
)
def test_ibans_and_card_numbers_keep_only_their_last_four(
    text: str, kept_tail: str, hidden_head: str
) -> None:
    result = masked(text)
    assert result.endswith(kept_tail) or kept_tail in result
    assert hidden_head not in result


NATIONAL_PHONES = [
    # a call word about the person, not the sender: the number is theirs
    "El repartidor te llama al 91 123 45 67.",
    "Your emergency contact: 020 7946 0958",
    "We will call you on 07700 900123.",
    "Wir rufen Sie unter 030 1234567 zurück.",
    # after a hotline word, a mobile number is still a person's
    "Contact : 06 12 34 56 78",
    "Call us on 07700 900123",
    "お問い合わせ 090-1234-5678",
    "문의 010-1234-5678",
    "Llámenos al 633 42 29 90",
    "Appelez le 06 12 34 56 78",
    "Call 07700 900123",
    "Rufen Sie 0151 23456789 an",
    "お電話 090-1234-5678",
    "연락처 010-1234-5678",
    "Call (415) 555-0132",
    "Call 98765 43210",
]


@pytest.mark.parametrize("text", NATIONAL_PHONES)
def test_phones_in_national_formats_lose_at_least_half_their_digits_and_never_fewer_than_four(
    text: str,
) -> None:
    result = masked(text)
    digits = len(re.findall(r"\d", text))
    hidden = digits - len(re.findall(r"\d", result))
    assert hidden >= 4
    assert 2 * hidden >= digits


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("联系人邮箱 张伟@zhangwei-family.cn", "张伟"),
        ("请发送至王小明@example.com", "王小明"),
        ("Pay via UPI to rahul.sharma@okaxis", "rahul.sharma"),
        ("UPI 9876543210@ybl", "9876543210"),
        ("debited from A/c XX9405 to VPA neha.s@oksbi. Not you?", "neha.s"),
        ("to VPA 3327357645@okhdfcbank.", "3327357645"),
    ],
)
def test_addresses_with_cjk_local_parts_and_upi_ids_are_masked(text: str, hidden: str) -> None:
    assert hidden not in masked(text)


# --- what a person needs to read -----------------------------------------------------

KEPT = [
    # last four of a card or account
    ("【招商银行】您尾号9847的储蓄卡10月08日14:32支出22376.33元", ["尾号9847", "22376.33元"]),
    ("您末尾1234的信用卡消费¥22376", ["末尾1234", "¥22376"]),
    ("Your card ending in 4821 was charged $1234.56", ["ending in 4821", "$1234.56"]),
    ("Card ends with 5521: payment of USD 89.90 received", ["5521", "USD 89.90"]),
    ("카드 끝자리 1234 50000원 결제", ["끝자리 1234", "50000원"]),
    ("Ihre Karte endet auf 4821. Betrag 1.234,56 €", ["endet auf 4821", "1.234,56 €"]),
    ("Tarjeta terminada en 5521, importe 50,00 EUR", ["terminada en 5521", "50,00 EUR"]),
    ("Carte se terminant par 7788 : 1 234,56 €", ["7788", "1 234,56 €"]),
    ("カード下4桁 5678 ご利用金額 12,800円", ["5678", "12,800円"]),
    ("Paid ****1234 for order", ["****1234"]),
    ("€706.58 debited from A/c XX3283 on March 7, 2026", ["XX3283", "€706.58"]),
    # dates with the year
    ("有效期至2026-10-08", ["2026-10-08"]),
    ("Due 2026/10/08", ["2026/10/08"]),
    ("2026年10月8日 14:30 到账", ["2026年10月8日", "14:30"]),
    ("Termin am 08.10.2026 um 09:15", ["08.10.2026", "09:15"]),
    ("Appointment on 10/08/2026 at 3:45 PM", ["10/08/2026"]),
    ("2026년 10월 8일 예약", ["2026년 10월 8일"]),
    ("Cita el 8 de octubre de 2026", ["2026"]),
    ("Your statement for October 2026 is ready", ["October 2026"]),
    ("© 2026 Amazon.com, Inc.", ["© 2026"]),
    ("Timestamp 2026-10-08T14:30:00Z", ["2026-10-08T14:30:00Z"]),
    # amounts
    ("余额22376.33元", ["22376.33元"]),
    ("本次消费 3500 元", ["3500 元"]),
    ("Total: EUR 2345", ["EUR 2345"]),
    ("결제금액 50000원", ["50000원"]),
    ("Betrag: 12.345,00 €", ["12.345,00 €"]),
    ("Refund of £1,250.00 issued", ["£1,250.00"]),
    ("ご請求額 ¥15800", ["¥15800"]),
    ("Rs. 45000 credited", ["Rs. 45000"]),
    # hotlines and service numbers
    ("如有疑问请致电95588", ["95588"]),
    ("详询客服热线 400-820-8820", ["400-820-8820"]),
    ("Call us at 1-800-555-0199", ["1-800-555-0199"]),
    ("Freephone 0800 123 4567", ["0800 123 4567"]),
    ("フリーダイヤル 0120-123-456", ["0120-123-456"]),
    ("고객센터 1588-1234", ["1588-1234"]),
    ("【12306】您购买的车票已出票", ["【12306】"]),
    ("请拨打10086或12345", ["10086", "12345"]),
    # UK non-geographic numbers (03 for organisations, 08 free or business rate)
    ("Not you? Call us on 0345 734 5345.", ["0345 734 5345"]),
    ("Call 0300 200 3300 if this is wrong.", ["0300 200 3300"]),
    ("Lloyds: 0845 300 0000", ["0845 300 0000"]),
    # a number right after a hotline word is the sender's, when not a mobile number
    ("如非本人操作，请联系阿里云客服 95187。", ["95187"]),
    ("Para cancelar llama al 91 123 45 67.", ["91 123 45 67"]),
    ("Ne le communiquez jamais. Service client 09 69 39 92 91.", ["09 69 39 92 91"]),
    ("Contact : 3646.", ["3646"]),
    ("お問い合わせはマイナンバー総合フリーダイヤル 0120-95-0178 まで。", ["0120-95-0178"]),
    ("お問い合わせは 03-1234-5678 まで", ["03-1234-5678"]),
    ("문의 02-123-4567", ["02-123-4567"]),
    ("Rufen Sie uns an unter 030 1234567.", ["030 1234567"]),
    # provider error codes
    ("Twilio error 21211: Invalid 'To' Phone Number", ["21211"]),
    ('{"code": 21211, "message": "Invalid To", "status": 400}', ["21211", "400"]),
    ("错误码：isv.BUSINESS_LIMIT_CONTROL", ["isv.BUSINESS_LIMIT_CONTROL"]),
    ("MK:0001 blacklisted", ["MK:0001"]),
    ("smtp; 550 5.1.1 user unknown", ["550 5.1.1"]),
    ('"more_info": "https://www.twilio.com/docs/errors/21211"', ["/errors/21211"]),
    ('{"Code":"isv.BUSINESS_LIMIT_CONTROL","BizId":"900619746936498440^0"}', ["8440^0"]),
    ("Fehlercode 4711", ["4711"]),
    ("código de error 30007", ["30007"]),
    ("エラーコード 1234", ["1234"]),
    ("오류 코드 4003", ["4003"]),
    ("code d'erreur 2301", ["2301"]),
    # flights and trains
    ("航班CA1831已延误", ["CA1831"]),
    ("Flight BA0117 boards at gate 22", ["BA0117"]),
    ("Ihr Flug LH 400 nach New York", ["LH 400"]),
    ("车次D3125次 08车12F", ["D3125次"]),
    ("G1234 次列车检票口 A12", ["G1234"]),
    ("ICE 578 fährt heute von Gleis 7", ["ICE 578"]),
    ("Tren AVE 03061 Madrid–Sevilla", ["AVE 03061"]),
    ("SNCF Connect : votre TGV INOUI 7972 du 10 septembre 2025", ["TGV INOUI 7972"]),
    # brand tags
    ("【中国银行】您的账户有变动", ["【中国银行】"]),
    ("[Amazon] Your package was delivered", ["[Amazon]"]),
    # order numbers after an order word
    ("订单号 20261008123456 已发货", ["20261008123456"]),
    ("Your order 112-4567890-1234567 has shipped", ["112-4567890-1234567"]),
    ("Bestellnummer 40567812", ["40567812"]),
    # uuids (provider request ids)
    ("RequestId F655A8D5-B967-440B-8683-DAD6FF8DE990", ["F655A8D5-B967-440B-8683-DAD6FF8DE990"]),
]


@pytest.mark.parametrize(("text", "kept"), KEPT, ids=lambda value: str(value)[:24])
def test_what_a_person_needs_to_recognise_the_message_stays_readable(
    text: str, kept: list[str]
) -> None:
    result = masked(text)
    for value in kept:
        assert value in result


@pytest.mark.parametrize(
    "text",
    [
        "Your password is about to expire.",
        "Your password has been reset. If this wasn't you, call 95588.",
        "验证码5分钟内有效",
        "Your code: DO NOT SHARE",
        "OTP SENT TO YOUR PHONE",
        "Code valid for 10 minutes",
        "您的验证码已发送。请致电95566",
        "Your verification code is invalid.",
        "Votre code est expiré.",
        "Booking reference: see below",
    ],
)
def test_ordinary_words_after_a_code_or_password_word_are_kept(text: str) -> None:
    assert masked(text) == text


def test_the_hotline_list_holds_the_well_known_numbers() -> None:
    assert {"95588", "95533", "95599", "95566", "95555", "95559", "10086", "10010"} <= HOTLINES
    assert {"10000", "12306", "12345", "12315", "110", "119", "120"} <= HOTLINES


# --- invariants ----------------------------------------------------------------------

MESSAGE_PIECES = [
    *("验证码", "您的验证码是", "code", "Your code is ", "OTP ", "尾号", "ending in ", "元"),
    *("€", "$", "¥", "2026-10-08", "10/08/2026", "95588", "CA1831", "D3125次", "【12306】"),
    *("2C2ZRJ", "JQR-737", "505-412", "1 2 3 4 5 6", "12.34.56", "123-45-6789", "QQ 32 83 67 C"),
    *("password: ", "Xk#9pL!2", "https://t.cn/A6x7", "bit.ly/3xYz", "eyJhbGciOi.eyJzdWIi.sig"),
    *("sk_live_4eC39HqLyjWD", "Bearer abcdef123456", "张伟@zhangwei.cn", "rahul@okaxis"),
    *("633 42 29 90", "(415) 555-0132", "DE89 3704 0044 0532 0130 00", "4111 1111 1111 1111"),
    *(" ", "，", "。", ". ", ":", "-", "*", "**", "\n", "1", "12", "1234", "123456789"),
    *("Call us on ", "客服", "llama al ", "te ", "0345 734 5345", "91 123 45 67", "XX9405"),
    *("Référence ", "RJNCDU", "jwculk", " is ", "amzn.asia/4xcuOe", "neha.s@oksbi", "@ybl"),
    *("TGV INOUI 7972", "Steuer-ID ", "17652410213", "06 12 34 56 78", "Contact : "),
]
# Pieces joined as messages join them: by punctuation and a space, CJK punctuation or a
# line break. (Two numbers with only one space between them read as one number: see the
# limits in docs/compliance/masking.md.)
message_soup = st.lists(
    st.tuples(st.sampled_from(MESSAGE_PIECES), st.sampled_from([", ", "，", "。", "\n", ": "])),
    max_size=25,
).map(lambda pairs: "".join(piece + separator for piece, separator in pairs))


@given(message_soup)
def test_masking_real_message_pieces_twice_equals_masking_them_once(text: str) -> None:
    once = mask_content(text)
    assert mask_content(once) == once


@given(message_soup)
def test_a_code_word_followed_by_a_code_never_shows_the_code(text: str) -> None:
    result = mask_content(f"{text} 验证码 7Q4W9E")
    assert result is not None
    assert "7Q4W9E" not in result


@pytest.mark.parametrize(
    "text",
    [
        "eyJ" * 21845,
        "xoxb-" * 13107,
        "AIza" * 16384,
        "password is " * 5461,
        "验证码" * 21845,
        "call us 0300 200 3300 " * 2978,
        "code is abcd. " * 4681,
        "amzn.asia/4xcuOe " * 3855,
        "客服：4829 " * 8192 + "验证码",
    ],
    ids=lambda text: repr(text[:12]),
)
def test_masking_64_kib_of_repeated_credential_shapes_takes_well_under_a_second(
    text: str,
) -> None:
    started = time.perf_counter()
    mask_content(text)
    assert time.perf_counter() - started < 0.5


code_words = st.sampled_from(sorted(KEYWORDS[CODE]))
connectors = st.sampled_from(
    [" ", ": ", "：", " is ", "为", "是", "は", "는 ", " lautet ", " es ", " est : "]
)
generated_codes = st.text(
    alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=4, max_size=10
).filter(lambda code: any(char.isdigit() for char in code))


@given(
    before=st.sampled_from(["", "【京东】您的", "Your ", "[카카오] ", "Ihr ", "Tu ", "Votre "]),
    word=code_words,
    connector=connectors,
    code=generated_codes,
    after=st.sampled_from(["", "。", ". Do not share it.", "，5分钟内有效", " (10 min)", "です。"]),
)
def test_a_code_with_a_digit_right_after_any_code_word_is_hidden(
    before: str, word: str, connector: str, code: str, after: str
) -> None:
    result = masked(f"{before}{word}{connector}{code}{after}")
    assert code not in result


@given(
    word=st.sampled_from(sorted(KEYWORDS[LAST_FOUR])),
    connector=st.sampled_from(["", " ", "为", ": "]),
    last_four=st.text(alphabet="0123456789", min_size=4, max_size=4),
    after=st.sampled_from(["", "的储蓄卡", " was charged", "。", ", importe"]),
)
def test_four_digits_right_after_a_last_four_word_stay_readable(
    word: str, connector: str, last_four: str, after: str
) -> None:
    # a Latin word is separated from the number (en0000 is one token)
    assume(not (word[-1].isascii() and connector in ("", "为")))
    text = f"您的卡 {word}{connector}{last_four}{after}"
    assert f"{word}{connector}{last_four}" in masked(text)


@given(
    amount=st.one_of(
        st.integers(min_value=0, max_value=10**9).map(str),
        st.decimals(min_value=0, max_value=10**7, places=2).map(str),
        st.integers(min_value=1000, max_value=10**9).map("{:,}".format),
    ),
    currency=st.sampled_from(["元", " 元", "円", "원", " €", " EUR", " USD"]),
)
def test_an_amount_next_to_its_currency_stays_readable(amount: str, currency: str) -> None:
    text = f"本次消费 {amount}{currency}，谢谢"
    assert f"{amount}{currency}" in masked(text)


def digits_of(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=length, max_size=length)


letters = st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ")
identifiers = st.one_of(
    st.builds("{}-{}-{}".format, digits_of(3), digits_of(2), digits_of(4)),  # US SSN
    st.builds("{}-{}".format, digits_of(6), digits_of(7)),  # KR RRN
    st.builds("{}{}".format, digits_of(8), letters),  # ES DNI
    st.builds("X{}{}".format, digits_of(7), letters),  # ES NIE
    st.builds("{}{}{}".format, st.text(letters, min_size=5, max_size=5), digits_of(4), letters),
    st.builds("QQ {} {} {} C".format, digits_of(2), digits_of(2), digits_of(2)),  # UK NI
)


@given(
    before=st.sampled_from(["", "Your ", "Ihre ", "您的", "Su ", "登録済み: ", "확인: "]),
    identifier=identifiers,
    after=st.sampled_from(["", " is on file.", " 已登记", " verificado", "。"]),
)
# Its digits are also a Spanish 800/900 number's, which is kept (rules version 2).
@example(before="", identifier="800-00-0000", after="")
@example(before="Your ", identifier="900-12-3456", after=" is on file.")
def test_national_identifiers_never_survive_whole_whatever_the_words_around(
    before: str, identifier: str, after: str
) -> None:
    result = masked(f"{before}{identifier}{after}")
    assert identifier not in result
    digits = re.sub(r"\D", "", identifier)
    assert digits not in re.sub(r"\D", "", result)


mobile_numbers = st.one_of(
    st.builds("07{} {}".format, digits_of(3), digits_of(6)),  # UK
    st.builds("06 {} {} {} {}".format, *[digits_of(2)] * 4),  # FR
    st.builds("6{} {} {} {}".format, digits_of(2), *[digits_of(2)] * 3),  # ES
    st.builds("015{} {}".format, digits_of(1), digits_of(8)),  # DE
    st.builds("090-{}-{}".format, digits_of(4), digits_of(4)),  # JP
    st.builds("010-{}-{}".format, digits_of(4), digits_of(4)),  # KR
    st.builds("9{} {}".format, digits_of(4), digits_of(5)),  # IN
)


@given(
    word=st.sampled_from(sorted(KEYWORDS[HOTLINE])),
    connector=st.sampled_from([" ", ": ", "：", " on "]),
    number=mobile_numbers,
)
def test_a_mobile_number_after_a_hotline_word_loses_at_least_half_its_digits(
    word: str, connector: str, number: str
) -> None:
    result = masked(f"Hinweis. {word}{connector}{number}。")
    digits = re.sub(r"\D", "", number)
    shown = re.sub(r"\D", "", result)
    assert digits not in shown
    assert len(digits) - len(re.sub(r"\D", "", result.replace(word, ""))) >= len(digits) // 2


@given(
    word=st.sampled_from(sorted(KEYWORDS[HOTLINE])),
    code=st.text(alphabet="0123456789", min_size=6, max_size=6),
)
def test_a_code_after_a_hotline_word_is_still_hidden_when_a_code_word_follows(
    word: str, code: str
) -> None:
    result = masked(f"{word}：{code}是您的验证码")
    assert code not in result


@pytest.mark.parametrize(
    "text",
    [
        "See https://x.com/Nike",
        "News: https://abc.de/news",
        "Docs https://docs.example.com/Ab12Cd",
    ],
)
def test_a_link_that_is_not_a_short_host_and_a_key_keeps_its_path(text: str) -> None:
    assert masked(text) == text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Never share your code, not even with customer service: 482913", "482913"),
        ("Teilen Sie Ihren Code niemals, auch nicht dem Kundenservice: 482 913", "482 913"),
        ("K3J9X2 is your code", "K3J9X2"),
    ],
)
def test_a_code_word_still_waiting_for_its_value_takes_the_number_after_a_hotline_word(
    text: str, code: str
) -> None:
    assert_hidden(masked(text), code)


def test_a_service_number_after_a_hotline_word_is_kept_after_a_code_word_that_had_its_value() -> (
    None
):
    text = "验证码已发送，如有疑问请联系客服 0571-88157858"
    assert masked(text) == text


# --- identifier shapes before keep words (hostile review, issue 8) --------------------

IDENTIFIERS_AFTER_KEEP_WORDS = [
    ("支付失败，错误码51，卡号6222021234567890123。", "6222021234567890123"),
    ("Payment failed (error 05) for card 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("Payment failed; status: 110105194912310021", "110105194912310021"),
    ("status 403 for 123-45-6789", "123-45-6789"),
    ("error 12345678Z", "12345678Z"),
    ("error 0151 23456789", "0151 23456789"),
    ("Zahlung fehlgeschlagen, Fehlercode 05, Karte 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("amount 4111111111111111", "4111111111111111"),
    ("余额 6222021234567890123", "6222021234567890123"),
    ("order 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("订单号 110105194912310021", "110105194912310021"),
    ("order 123-45-6789", "123-45-6789"),
    ("order 138 1234 8000", "138 1234 8000"),
    ("train 4111111111111111", "4111111111111111"),
    ("Error: 138 1234 8000 unreachable", "138 1234 8000"),
    ("Error: unreachable; error 4111-1111-1111-1111", "4111-1111-1111-1111"),
    ("Card ending 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ("Transaction refund 378282246310005 reversed", "378282246310005"),
    ("Bestellung 4012888888881881 storniert", "4012888888881881"),
    ("Refund 50000원 6222021234567890123", "6222021234567890123"),
    ("Charged ¥4111111111111111 today", "4111111111111111"),
    ("Card ending 5500 0000 0000 0004 declined", "5500 0000 0000 0004"),
    ("Twilio error 30003 for 4155552671: unreachable", "4155552671"),
    ("CARD:4111111111111111", "4111111111111111"),
    ("ID:110105194912310021", "110105194912310021"),
    ("See https://example.com/errors/4111111111111111 now", "4111111111111111"),
]


@pytest.mark.parametrize(("text", "identifier"), IDENTIFIERS_AFTER_KEEP_WORDS, ids=str)
def test_an_identifier_after_an_error_order_amount_or_travel_word_shows_its_last_four_at_most(
    text: str, identifier: str
) -> None:
    result = masked(text)
    assert identifier not in result
    digits = re.sub(r"\D", "", identifier)
    shown = re.sub(r"\D", "", result[text.index(identifier) :])
    # at most the last four digits of the identifier are left
    assert len(shown) <= 4
    assert digits.endswith(shown)


def with_luhn_check_digit(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char) * (2 if index % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return body + str((10 - total % 10) % 10)


card_numbers = st.builds(
    lambda prefix, rest: with_luhn_check_digit(prefix + rest),
    st.sampled_from(["4", "51", "55", "6222", "37", "35"]),
    st.text(alphabet="0123456789", min_size=11, max_size=14),
)


@given(
    word=st.sampled_from(
        sorted({*KEYWORDS[ERROR], *KEYWORDS[ORDER], *KEYWORDS[TRAVEL], *KEYWORDS[AMOUNT]})
    ),
    connector=st.sampled_from([" ", ": ", "：", " #"]),
    card=card_numbers,
    grouped=st.booleans(),
)
def test_a_card_number_after_any_keep_word_shows_its_last_four_at_most(
    word: str, connector: str, card: str, grouped: bool
) -> None:
    written = " ".join(card[i : i + 4] for i in range(0, len(card), 4)) if grouped else card
    result = masked(f"Hinweis. {word}{connector}{written} 。")
    shown = re.sub(r"\D", "", result[len("Hinweis. ") :])
    assert card not in shown
    assert card[4:-4] not in shown


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("支付失败，错误码51，请重试。", "错误码51"),
        ("Payment failed (error 05) for your card", "error 05"),
        ("Twilio error 21211: invalid To number", "error 21211"),
        ("Fehlercode 05, bitte erneut versuchen", "Fehlercode 05"),
        ("Your order 12345 has shipped", "order 12345"),
        ("订单号 20261008123456 已发货", "20261008123456"),
        ("余额 5000 元", "5000"),
        ("Balance 1,234,567.89 EUR", "1,234,567.89"),
        ("Card ending 4111 was charged", "ending 4111"),
        ("Card ending 4111 05/27", "ending 4111"),
        ("카드 끝자리 1234 50000원 결제", "1234 50000원"),
        ("Please check https://www.twilio.com/docs/errors/21211 for details", "errors/21211"),
    ],
    ids=str,
)
def test_a_keep_word_still_keeps_a_short_code_or_an_amount(text: str, kept: str) -> None:
    assert kept in masked(text)


@pytest.mark.parametrize(
    "text",
    [
        "https://a.com/" + "1/" * 32768,
        "https://a.com/errors/" + "12345/" * 10920,
        "see https://example.com/" + "a1b2c3d4/" * 7281,
    ],
    ids=lambda text: repr(text[:24]),
)
def test_masking_a_64_kib_link_of_many_digit_runs_takes_well_under_a_second(text: str) -> None:
    started = time.perf_counter()
    mask_content(text)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Your passport no. 533380006 is on file.", "533380006"),
        ("Passport No. 533380006 verified", "533380006"),
        ("Reisepass Nr. C01X00T47 gültig", "C01X00T47"),
        ("your code is kxqjzt", "kxqjzt"),
        ("验证码kxqjzt", "kxqjzt"),
        ("初始密码：abcdefgh", "abcdefgh"),
        ("Your temporary password: abcdefgh", "abcdefgh"),
        ("Ваш код: xk7mq2", "xk7mq2"),
        ("Ваш пароль: qwertyui", "qwertyui"),
        ("Il tuo codice di verifica è: xk7mq2", "xk7mq2"),
        ("Uw verificatiecode is: xk7mq2", "xk7mq2"),
        ("Twój kod weryfikacyjny: xk7mq2", "xk7mq2"),
        ("card ending 1234, cvc 987", "987"),
        ("Your amount is 482913", "482913"),
        ("Balance: 482913 code", "482913"),
        ("Open https://example.com/u/7Hq2Kx to sign in", "7Hq2Kx"),
        ("Open https://example.com/i/x7k2m9 to sign in", "x7k2m9"),
        ("Open https://example.com/v/AbCdEfGhIjKl to sign in", "AbCdEfGhIjKl"),
    ],
    ids=str,
)
def test_abbreviations_letters_only_values_and_more_languages_do_not_leak(
    text: str, secret: str
) -> None:
    assert_hidden(masked(text), secret)


@pytest.mark.parametrize(
    "text",
    [
        "Your password: reset by the administrator.",
        "See https://example.com/products/iphone15 for details",
        "See https://example.com/blog/HelloWorld and https://example.com/p/YouTube",
        "Order no. 12345 has shipped. Thank you.",
    ],
)
def test_words_and_names_near_the_new_rules_stay_readable(text: str) -> None:
    assert masked(text) == text
