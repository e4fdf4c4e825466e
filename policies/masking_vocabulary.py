"""The word lists the free-text masking rules read: policy as data, one place to extend.

:func:`policies.masking.mask_content` decides what a number or a token in a message is
by its shape and by the nearest of these words before it (within one sentence and a
few dozen characters). Each list is documented in ``docs/compliance/masking.md``;
adding a language means adding its words here, not changing the rules.

Words are matched case-insensitively unless they are listed in :data:`EXACT_CASE_WORDS`
(short acronyms that are also ordinary words in some language: ``TAN``, ``PIN``).
"""

from __future__ import annotations

from typing import Final

CODE = "code"
"""A value after this word is a credential (one-time code, PIN, pickup code, CVV):
hidden whatever its shape."""
PASSWORD = "password"  # noqa: S105 - a category name
"""A value after this word (and ``is``/``:``/``为``…) is a password: any printable run."""
IDENTITY = "identity"
"""A value after this word is a national id, tax id or passport number: hidden whole."""
LAST_FOUR = "last4"
"""Four digits after this word are the last four of a card or account: kept."""
AMOUNT = "amount"
"""A number after this word is an amount of money: kept."""
ERROR = "error"
"""A number or code after this word is a provider's error code: kept."""
ORDER = "order"
"""A value after this word is an order number: kept (it names a purchase, not a person,
and proves nothing; the person needs it to recognise the message)."""
TRAVEL = "travel"
"""A value after this word is a flight or train number: kept."""
HOTLINE = "hotline"
"""A number right after this word ("call us on", "请致电", "llame al", "Service client",
"お問い合わせ", "문의") is the sender's own service number: kept, unless it is shaped
like a mobile number (a person's, not a service's). Only spaces, a colon or a
preposition may stand between the word and the number."""

KEYWORDS: Final[dict[str, tuple[str, ...]]] = {
    CODE: (
        # zh
        *("验证码", "校验码", "动态码", "动态密码", "取件码", "提货码", "取货码", "确认码"),
        *("安全码", "激活码", "授权码", "口令", "兑换码", "核销码", "登录码", "短信码"),
        *("驗證碼", "認證碼", "取餐码", "提取码", "邀请码", "识别码", "券码", "卡密"),
        # en
        *("code", "codes", "OTP", "passcode", "PIN", "one-time password", "security code"),
        *("verification code", "CVV", "CVV2", "CVC", "CVC2", "CSC", "token", "key"),
        *("recovery code", "backup code", "gift card", "claim code", "voucher", "2FA"),
        # ja
        *("認証コード", "確認コード", "ワンタイムパスワード", "認証番号", "確認番号"),
        *("暗証番号", "セキュリティコード", "ログインコード", "コード", "ワンタイムコード"),
        # ko
        *("인증번호", "인증코드", "인증 번호", "확인코드", "확인 코드", "보안코드", "코드"),
        *("일회용 비밀번호", "승인번호"),
        # de
        *("Bestätigungscode", "Sicherheitscode", "Freischaltcode", "Aktivierungscode"),
        *("Einmalcode", "Prüfziffer", "Kartenprüfnummer", "Zugangscode", "Abholcode"),
        *("Einmalpasswort", "TAN", "mTAN", "smsTAN", "Gutscheincode", "Wiederherstellungscode"),
        # es
        *("código", "codigo", "código de verificación", "clave", "clave temporal"),
        *("código de seguridad", "código de recogida", "contraseña de un solo uso"),
        # fr
        *("code de vérification", "code de confirmation", "code de sécurité", "cryptogramme"),
        *("code d'accès", "code de retrait", "code PIN"),
        # it, nl, pl, ru (senders abroad write to customers in these too)
        *("codice", "codice di verifica", "verificatiecode", "kod", "kod weryfikacyjny"),
        *("код", "код подтверждения"),
        # Booking references (PNR, Localizador, Auftragsnummer, 予約番号…): with the
        # surname they open "manage my booking" (change, cancel, refund), so they are
        # credentials, not order numbers.
        *("booking reference", "booking ref", "booking code", "booking number", "PNR"),
        *("reservation code", "reservation number", "confirmation code", "record locator"),
        *("confirmation number", "Buchungsnummer", "Buchungscode", "Auftragsnummer"),
        *("Reservierungsnummer", "localizador", "código de reserva", "número de reserva"),
        *("référence", "référence de dossier", "référence de réservation", "code de réservation"),
        *("numéro de réservation", "numéro de dossier", "予約番号", "予約コード", "예약번호"),
        *("예매번호", "预订号", "预订码", "预约码", "预约号", "就诊码", "取票码", "取票号"),
    ),
    PASSWORD: (
        *("密码", "临时密码", "初始密码", "新密码", "密碼", "临时口令"),
        *("password", "temporary password", "temp password", "new password", "pwd"),
        *("パスワード", "仮パスワード", "初期パスワード", "비밀번호", "임시 비밀번호"),
        *("Passwort", "Kennwort", "vorläufiges Passwort", "temporäres Passwort"),
        *("contraseña", "contraseña temporal", "contraseña provisional"),
        *("mot de passe", "mot de passe temporaire", "mot de passe provisoire"),
        *("пароль", "wachtwoord", "hasło"),
    ),
    IDENTITY: (
        *("身份证", "身份证号", "身份证号码", "公民身份号码", "护照", "护照号", "纳税人识别号"),
        *("SSN", "social security", "social security number", "passport", "passport number"),
        *("national insurance", "NI number", "NINO", "tax id", "TIN", "Aadhaar", "PAN"),
        *("マイナンバー", "個人番号", "旅券番号", "パスポート", "주민등록번호", "여권", "여권번호"),
        *("Steuer-ID", "Steuer-IdNr", "Steueridentifikationsnummer", "Reisepass"),
        *("Reisepassnummer", "Personalausweis", "Ausweisnummer", "Passnummer"),
        *("DNI", "NIE", "NIF", "pasaporte", "número de pasaporte"),
        *("NIR", "numéro de sécurité sociale", "passeport", "numéro fiscal"),
    ),
    LAST_FOUR: (
        *("尾号", "末尾", "末四位", "后四位", "尾数", "末4位", "后4位", "結尾"),
        *("ending in", "ending", "ends with", "ends in", "last 4 digits", "last four"),
        *("下4桁", "下四桁", "末尾番号", "끝자리", "뒷자리", "endet auf", "endend auf"),
        *("terminada en", "terminado en", "acabada en", "se terminant par", "finissant par"),
    ),
    AMOUNT: (
        *("金额", "余额", "消费", "支出", "收入", "存入", "转入", "转出", "入账", "扣款"),
        *("还款", "应还", "退款", "支付", "付款", "账单", "到账", "可用额度", "额度"),
        *("amount", "balance", "total", "paid", "payment of", "charged", "refund", "spent"),
        *("Betrag", "Saldo", "Summe", "Gesamtbetrag", "importe", "saldo", "cargo"),
        *("montant", "solde", "金額", "残高", "ご利用金額", "請求額", "금액", "잔액", "결제"),
    ),
    ERROR: (
        *("错误码", "错误代码", "错误", "失败码", "error", "error code", "errorCode"),
        *("error_code", "err", "errcode", "err_code", "ErrorCode", "status code", "status"),
        *("code d'erreur", "erreur", "Fehlercode", "Fehler", "código de error"),
        *("エラーコード", "エラー", "오류 코드", "오류코드", "오류", "Twilio", "SMTP"),
    ),
    ORDER: (
        *("订单", "订单号", "订单编号", "order", "order number", "order no", "order #"),
        *("Bestellung", "Bestellnummer", "pedido", "número de pedido", "commande"),
        *("注文番号", "ご注文", "주문번호", "주문"),
    ),
    TRAVEL: (
        *("航班", "航班号", "车次", "列车", "flight", "train", "Flug", "Zug", "vuelo", "tren"),
        *("vol", "便名", "列車", "항공편", "열차"),
    ),
    HOTLINE: (
        *("请致电", "致电", "请拨打", "拨打", "客服", "客服热线", "客服电话", "服务热线", "热线"),
        *("call us", "contact us"),
        *("contact", "hotline", "helpline", "freephone", "customer service", "customer care"),
        *("お問い合わせ", "お問合せ", "お問い合わせ先", "フリーダイヤル", "ナビダイヤル"),
        *("문의", "고객센터", "상담센터", "Hotline", "Service-Hotline", "Kundenservice"),
        *("Kundendienst", "rufen Sie uns an", "rufen Sie uns", "erreichen Sie uns"),
        *("llame al", "llama al", "llámenos al", "llámanos al", "atención al cliente"),
        *("appelez le", "appelez-nous au", "contactez-nous au", "contactez le"),
        *("service client", "service clients", "numéro vert"),
    ),
}
"""Category → words. The nearest word before a value decides its category."""

EXACT_CASE_WORDS: Final[frozenset[str]] = frozenset(
    {"OTP", "PIN", "TAN", "mTAN", "smsTAN", "CSC", "SSN"}
    | {"TIN", "PAN", "DNI", "NIE", "NIF", "NIR", "NINO", "SMTP", "2FA", "PNR"}
)
"""Acronyms matched only as written, and only as whole words (``tan`` is Spanish for
"so", ``pan`` is bread). ``CVV`` and ``CVC`` are no word in any language: matched in
any case (``cvc 123``)."""

SHORTENER_HOSTS: Final[frozenset[str]] = frozenset(
    {
        *("t.cn", "url.cn", "dwz.cn", "suo.im", "3.cn", "u.jd.com", "m.tb.cn", "tb.cn"),
        *("bit.ly", "bitly.com", "tinyurl.com", "goo.gl", "t.co", "ow.ly", "is.gd", "rb.gy"),
        *("cutt.ly", "s.id", "j.mp", "buff.ly", "shorturl.at", "tiny.cc", "v.gd", "lnkd.in"),
        *("t.ly", "rebrand.ly", "bl.ink", "short.io", "amzn.to", "a.co", "youtu.be"),
        *("db.tt", "qr.ae", "adf.ly", "x.co", "po.st", "trib.al", "wp.me", "fb.me"),
        *("aka.ms", "g.co", "forms.gle", "maps.app.goo.gl", "apple.co", "spoti.fi"),
        *("bit.do", "urlz.fr", "me2.do", "han.gl", "vo.la", "zpr.io", "sl.jp", "x.gd"),
    }
)
"""Link shorteners: the whole path of a short link is its key, and following it can log
the person in (a one-tap link). Everything after the host is hidden."""

HOTLINES: Final[frozenset[str]] = frozenset(
    {
        # CN banks, carriers, public services
        *("95588", "95533", "95599", "95566", "95555", "95559", "95568", "95595", "95528"),
        *("95561", "95558", "95577", "95580", "95511", "95518", "95519", "95500", "95522"),
        *("95526", "95501", "95508", "95516", "95017", "95188", "95106", "95338", "95311"),
        *("10086", "10010", "10000", "10099", "12306", "12345", "12315", "12321", "12333"),
        *("12366", "12358", "12319", "12348", "12369", "12395", "12110", "12123", "11185"),
        *("110", "119", "120", "122", "999", "911", "112", "000", "100", "101", "111"),
        # short codes and emergency numbers elsewhere
        *("0120", "118", "1331", "182", "114"),
    }
)
"""Well-known service numbers kept whole: they name the sender, not the person."""

AIRLINE_CODES: Final[frozenset[str]] = frozenset(
    {
        *("CA", "MU", "CZ", "HU", "3U", "ZH", "MF", "FM", "HO", "9C", "SC", "KN", "GS", "JD"),
        *("8L", "G5", "EU", "TV", "PN", "KY", "BK", "QW", "NS", "CX", "KA", "HX", "UO", "NX"),
        *("BR", "CI", "JL", "NH", "MM", "GK", "BC", "KE", "OZ", "7C", "LJ", "TW", "ZE", "BX"),
        *("SQ", "TR", "MH", "AK", "TG", "FD", "VN", "VJ", "PR", "5J", "GA", "QZ", "AI", "6E"),
        *("UK", "SG", "EK", "QR", "EY", "TK", "SV", "QF", "VA", "JQ", "NZ", "AC", "WS"),
        *("AA", "UA", "DL", "WN", "B6", "AS", "NK", "F9", "HA", "BA", "VS", "U2", "LS", "LH"),
        *("EW", "DE", "LX", "OS", "SN", "AF", "KL", "HV", "TO", "IB", "VY", "UX", "I2", "AZ"),
        *("FR", "W6", "SK", "AY", "DY", "TP", "EI", "LO", "OK", "A3", "LA", "AV", "CM", "AM"),
        *("ET", "MS", "SA", "KQ", "RJ", "WY", "GF", "PK", "UL", "BG", "KC", "SU", "PS"),
    }
)
"""IATA codes of the airlines a message in the supported languages usually names: a
code and 1–4 digits (``CA1831``, ``BA0117``, ``LH 400``) is a flight number, kept."""

TRAIN_PREFIXES: Final[tuple[str, ...]] = (
    *("ICE", "IC", "EC", "ECE", "RE", "RB", "IRE", "TGV", "TER", "AVE", "ALVIA", "AVLO"),
    *("TGV INOUI", "INOUI", "TGV Lyria", "Lyria", "OUIGO", "KTX", "ITX", "SRT", "RJ"),
    *("RJX", "NJ", "EN", "FR", "FA", "Thalys"),
    *("Eurostar", "Intercités", "Frecciarossa", "Italo", "Avant", "Euromed", "IRYO"),
)
"""Named trains kept with their number (``ICE 578``, ``AVE 03061``). Chinese train
numbers (a letter of ``GDCZTKYS`` and 1–4 digits, ``D3125次``) are recognised by shape."""

PERSONAL_BEFORE_HOTLINE: Final[tuple[str, ...]] = (
    *("your", "my", "emergency", "registered", "te", "le", "les", "os", "tu", "su"),
    *("votre", "ton", "ta", "vos", "Ihr", "Ihre", "Ihren", "dein", "deine", "Notfall"),
)
"""A hotline word right after one of these is about the person (``te llama al`` "calls
you at", ``your emergency contact``): the number after it is theirs, not the sender's."""

CODE_STATES: Final[frozenset[str]] = frozenset(
    {
        *("valid", "invalid", "expired", "wrong", "correct", "incorrect", "sent", "below"),
        *("above", "attached", "enclosed", "required", "missing", "ready", "active"),
        *("inactive", "blocked", "locked", "used", "pending", "unknown", "none", "here"),
        *("reset", "changed", "updated", "expiring"),
        *("gültig", "ungültig", "abgelaufen", "falsch", "korrekt", "richtig", "gesperrt"),
        *("válido", "inválido", "caducado", "incorrecto", "correcto", "usado", "bloqueado"),
        *("valide", "invalide", "expiré", "correct", "utilisé", "bloqué", "incorrect"),
    }
)
"""Words that say what a code is (``your code is invalid.``): the one lowercase word
after a code word and a connector is a code unless it is one of these."""

CURRENCY_SIGNS: Final[str] = "$¥￥€£₩₹₽฿₫₱₪₺₴"
CURRENCY_WORDS: Final[tuple[str, ...]] = (
    *("USD", "EUR", "CNY", "RMB", "JPY", "KRW", "INR", "GBP", "HKD", "SGD", "CHF", "AUD"),
    *("CAD", "TWD", "MXN", "BRL", "Rs", "Rs.", "R$", "HK$", "US$", "S$", "A$", "C$", "NT$"),
    *("元", "圆", "块", "円", "원", "엔", "美元", "欧元", "港币", "日元", "韩元", "英镑"),
    *("人民币", "万元", "万円", "만원", "euros", "euro", "dollars", "dollar", "pesos", "rupees"),
    *("Euro", "Euros", "yuan", "yen", "won", "ドル", "ユーロ", "달러", "유로"),
)
"""A number next to one of these (before or after, one space allowed) is an amount."""

MONTH_NAMES: Final[tuple[str, ...]] = (
    *("January", "February", "March", "April", "May", "June", "July", "August"),
    *("September", "October", "November", "December", "Jan", "Feb", "Mar", "Apr"),
    *("Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Januar", "Februar"),
    *("März", "Mai", "Juni", "Juli", "Oktober", "Dezember", "enero", "febrero", "marzo"),
    *("abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre"),
    *("diciembre", "janvier", "février", "mars", "avril", "juin", "juillet", "août"),
    *("septembre", "octobre", "novembre", "décembre"),
)
"""A four-digit year next to a month name is part of a date: kept."""
