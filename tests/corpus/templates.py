"""The message templates the corpus bodies are rendered from.

Each is what a bank, clinic, shop, carrier, airline or railway, government service or SaaS
product sends, written as its own staff would (brand tags, hotlines, the local way of
writing dates and amounts). Placeholders name a kind in :data:`tests.corpus.shapes.KINDS`
(``${code}``), or ``${<placeholder>}`` with an explicit kind in ``kinds``. ``keep`` lists
fixed parts of the body a person needs readable (a hotline, a brand tag).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MessageTemplate:
    id: str
    lang: str
    sector: str
    channel: str
    body: str
    kinds: dict[str, str] = field(default_factory=dict)
    keep: list[tuple[str, str]] = field(default_factory=list)
    renders: int = 7


def T(  # noqa: N802 - reads as a table
    id: str,
    lang: str,
    sector: str,
    channel: str,
    body: str,
    *,
    kinds: dict[str, str] | None = None,
    keep: list[tuple[str, str]] | None = None,
    renders: int = 7,
) -> MessageTemplate:
    return MessageTemplate(id, lang, sector, channel, body, kinds or {}, keep or [], renders)


H = "keep.hotline"
B = "keep.brand_tag"

TEMPLATES: list[MessageTemplate] = [
    # --- zh ---------------------------------------------------------------------------
    T(
        "zh-bank-debit",
        "zh",
        "bank",
        "sms",
        "【工商银行】您尾号${last4}卡${date} ${time}支出(消费)${amount}元，余额${balance}元。"
        "如非本人操作，请致电95588。",
        kinds={"balance": "amount"},
        keep=[("【工商银行】", B), ("95588", H)],
        renders=8,
    ),
    T(
        "zh-bank-otp",
        "zh",
        "bank",
        "sms",
        "【招商银行】动态密码${code_letters}，您正在登录手机银行，${minutes}分钟内有效。"
        "切勿告知他人，客服95555。",
        keep=[("【招商银行】", B), ("95555", H)],
    ),
    T(
        "zh-bank-card",
        "zh",
        "bank",
        "email",
        "尊敬的${name}：您的信用卡${card}本期账单金额为${amount}元，最后还款日${date}。"
        "详询建设银行客服热线95533。",
        keep=[("95533", H)],
    ),
    T(
        "zh-rail-ticket",
        "zh",
        "travel",
        "sms",
        "【12306】订单${order}，${name}您已购${date}的${train}次${seat}，${city}站${time}开。"
        "请携带身份证件${cn_id}乘车。",
        keep=[("【12306】", B)],
        renders=8,
    ),
    T(
        "zh-rail-split",
        "zh",
        "travel",
        "sms",
        "【12306】您正在修改密码，验证码：${split_code}。如非本人操作请忽略。",
        keep=[("【12306】", B)],
    ),
    T(
        "zh-shop-shipped",
        "zh",
        "shop",
        "sms",
        "【京东】您的订单${order}已出库，预计${date}送达，查看物流 ${short_link} 回TD退订",
        keep=[("【京东】", B)],
        renders=8,
    ),
    T(
        "zh-logistics-pickup",
        "zh",
        "logistics",
        "sms",
        "【顺丰速运】您的快件${waybill}已到${city}丰巢柜，取件码${split_code}，"
        "快递员电话${phone}，有疑问请致电95338。",
        keep=[("【顺丰速运】", B), ("95338", H)],
    ),
    T(
        "zh-gov-social",
        "zh",
        "government",
        "sms",
        "【国家政务服务平台】${name}，您(身份证号${cn_id})的社保卡补换申请已受理，"
        "办理进度请拨打12345查询。",
        keep=[("【国家政务服务平台】", B), ("12345", H)],
    ),
    T(
        "zh-clinic-appointment",
        "zh",
        "clinic",
        "sms",
        "【微医】${name}您好，您已成功预约${date} ${time}协和医院内科门诊，就诊码${code_letters}，"
        "请提前15分钟到达。",
        keep=[("【微医】", B)],
    ),
    T(
        "zh-saas-password",
        "zh",
        "saas",
        "email",
        "您好 ${name}，管理员已为您重置密码，临时密码：${temp_password}，登录后请立即修改。"
        "或点击链接登录：${magic_link}",
        renders=7,
    ),
    T(
        "zh-bank-push",
        "zh",
        "bank",
        "push",
        "支付提醒：您尾号${last4}的银行卡于${time}在美团支付${amount}元",
        renders=6,
    ),
    T(
        "zh-saas-email-change",
        "zh",
        "saas",
        "email",
        "您的账户登录邮箱已变更为 ${email}。如非本人操作，请联系阿里云客服 95187。",
        keep=[("95187", H)],
        renders=6,
    ),
    T(
        "zh-saas-apikey",
        "zh",
        "saas",
        "email",
        "您好 ${name}，您创建的 API 密钥为 ${api_key}，仅显示一次，请妥善保存。",
        renders=4,
    ),
    # --- en ---------------------------------------------------------------------------
    T(
        "en-bank-debit",
        "en",
        "bank",
        "sms",
        "Barclays: Your card ending ${last4} was charged ${amount} on ${date} at ${time}. "
        "Not you? Call us on 0345 734 5345.",
        keep=[("0345 734 5345", H)],
        renders=6,
    ),
    T(
        "en-saas-code",
        "en",
        "saas",
        "sms",
        "Your Kontora verification code is ${code_letters}. It expires in ${minutes} minutes. "
        "Don't share it with anyone.",
        renders=6,
    ),
    T(
        "en-saas-magic",
        "en",
        "saas",
        "email",
        "Hi ${name},\n\nClick the link below to sign in to Nimbus Desk:\n${magic_link}\n\n"
        "This link expires in 15 minutes and can only be used once.",
        renders=6,
    ),
    T(
        "en-saas-apikey",
        "en",
        "saas",
        "email",
        "Hi ${name}, a new API key was created for your workspace: ${api_key}\n"
        "If you did not do this, revoke it now.",
        renders=5,
    ),
    T(
        "en-saas-invite",
        "en",
        "saas",
        "email",
        "You've been invited to join Paygrove. Your invitation token: ${jwt} "
        "(valid until ${date}).",
        renders=4,
    ),
    T(
        "en-airline-booking",
        "en",
        "travel",
        "email",
        "Dear ${name}, your flight ${flight} on ${date} departs at ${time}. "
        "Booking reference: ${pnr}. Passport on file: ${passport}.",
        renders=6,
    ),
    T(
        "en-gov-ssn",
        "en",
        "government",
        "email",
        "Social Security Administration: ${name}, your benefit statement for SSN ${us_ssn} "
        "is ready. Questions? Call 1-800-772-1213.",
        keep=[("1-800-772-1213", H)],
        renders=4,
    ),
    T(
        "en-gov-nino",
        "en",
        "government",
        "sms",
        "HMRC: We have updated your tax code. Your National Insurance number is ${uk_nino}. "
        "Call 0300 200 3300 if this is wrong.",
        keep=[("0300 200 3300", H)],
        renders=5,
    ),
    T(
        "en-shop-shipped",
        "en",
        "shop",
        "sms",
        "Your order of ${product} will arrive on ${date}. Track it: ${short_link}",
        renders=6,
    ),
    T(
        "en-bank-virtual-card",
        "en",
        "bank",
        "email",
        "Your new virtual card ${card} is ready. CVV: ${cvv}. Valid from ${date}.",
        renders=4,
    ),
    T(
        "en-in-kyc",
        "en",
        "government",
        "sms",
        "Dear ${name}, your Aadhaar ${in_aadhaar} is now linked with PAN ${in_pan}. -ITD",
        renders=4,
    ),
    T(
        "en-in-upi",
        "en",
        "bank",
        "sms",
        "${amount} debited from A/c XX${last4} on ${date} to VPA ${upi}. Not you? Call 1800 1234.",
        keep=[("1800 1234", H)],
        renders=5,
    ),
    T(
        "en-saas-recovery",
        "en",
        "saas",
        "email",
        "Your two-factor recovery code is ${recovery_code}. Keep it somewhere safe.",
        renders=3,
    ),
    T(
        "en-shop-gift",
        "en",
        "shop",
        "email",
        "Happy birthday ${name}! Redeem your gift card ${gift_code} (balance ${amount}).",
        renders=3,
    ),
    T(
        "en-clinic-reminder",
        "en",
        "clinic",
        "sms",
        "Riverside Clinic: ${name}, reminder of your appointment on ${date} at ${time}. "
        "We will text you on ${phone} if anything changes.",
        renders=4,
    ),
    T(
        "en-saas-pat",
        "en",
        "saas",
        "email",
        "Your personal access token for the Kontora API is ready:\n\n${jwt}\n\n"
        "Send it as a Bearer token. It expires on ${date}.",
        renders=6,
    ),
    T(
        "en-gov-irs",
        "en",
        "government",
        "email",
        "IRS: We received a tax return filed with SSN ${us_ssn} on ${date}. "
        "If you did not file it, call 800-908-4490.",
        keep=[("800-908-4490", H)],
        renders=5,
    ),
    T(
        "en-gov-dwp",
        "en",
        "government",
        "sms",
        "DWP: ${name}, your Universal Credit payment of ${amount} (NI ${uk_nino}) will be paid "
        "on ${date}.",
        renders=5,
    ),
    T(
        "en-in-epan",
        "en",
        "government",
        "email",
        "Dear ${name}, e-PAN ${in_pan} has been allotted and linked to Aadhaar ${in_aadhaar}. "
        "OTP for download: ${code}",
        renders=4,
    ),
    T(
        "en-bank-cvv",
        "en",
        "bank",
        "push",
        "Card ${card} added to Apple Pay. Security code ${cvv} verified.",
        renders=4,
    ),
    # --- ja ---------------------------------------------------------------------------
    T(
        "ja-bank-otp",
        "ja",
        "bank",
        "sms",
        "【三井住友カード】ワンタイムパスワードは${code_letters}です。有効期限は${minutes}分です。"
        "第三者に教えないでください。",
        keep=[("【三井住友カード】", B)],
        renders=7,
    ),
    T(
        "ja-bank-debit",
        "ja",
        "bank",
        "push",
        "カード末尾${last4}のご利用：${date} ${time} ${amount}円",
        renders=7,
    ),
    T(
        "ja-shop-shipped",
        "ja",
        "shop",
        "sms",
        "【楽天市場】ご注文の${product}を${date}に発送しました。配送状況：${short_link}",
        keep=[("【楽天市場】", B)],
        renders=7,
    ),
    T(
        "ja-gov-mynumber",
        "ja",
        "government",
        "email",
        "${name}様 マイナンバー(${jp_my_number})の登録が完了しました。"
        "お問い合わせはマイナンバー総合フリーダイヤル 0120-95-0178 まで。",
        keep=[("0120-95-0178", H)],
        renders=6,
    ),
    T(
        "ja-travel-train",
        "ja",
        "travel",
        "email",
        "${name}様 ${date} ${train} ${time}発のご予約を承りました。予約番号：${pnr}",
        renders=6,
    ),
    T(
        "ja-travel-flight",
        "ja",
        "travel",
        "email",
        "${name}様 ${date}の${flight}便 搭乗手続き完了。旅券番号${passport}を登録済みです。",
        renders=6,
    ),
    T(
        "ja-clinic-code",
        "ja",
        "clinic",
        "sms",
        "【さくら病院】${name}様の予約確認コード：${split_code}。${date} ${time}にお越しください。",
        keep=[("【さくら病院】", B)],
        renders=6,
    ),
    T(
        "ja-saas-reset",
        "ja",
        "saas",
        "email",
        "パスワード再設定のリクエストを受け付けました。以下のURLから手続きしてください。\n"
        "${magic_link}\n心当たりのない場合は ${email} までご連絡ください。",
        renders=6,
    ),
    T(
        "ja-logistics-redeliver",
        "ja",
        "logistics",
        "sms",
        "【ヤマト運輸】お荷物${waybill}の再配達受付。連絡先${phone}、暗証番号${code}。",
        keep=[("【ヤマト運輸】", B)],
        renders=6,
    ),
    T(
        "ja-bank-temp",
        "ja",
        "bank",
        "email",
        "${name}様 仮パスワード：${temp_password} ログイン後に変更してください。",
        renders=5,
    ),
    # --- ko ---------------------------------------------------------------------------
    T(
        "ko-bank-debit",
        "ko",
        "bank",
        "sms",
        "[Web발신]\n[신한카드] 승인 ${name} ${amount}원 일시불 ${date} ${time} 누적 ${total}원 "
        "카드끝자리 ${last4}",
        kinds={"total": "amount"},
        keep=[("[신한카드]", B)],
        renders=8,
    ),
    T(
        "ko-bank-otp",
        "ko",
        "bank",
        "sms",
        "[Web발신]\n[KB국민은행] 인증번호 [${split_code}]를 입력해 주세요. 문의 1588-9999",
        keep=[("[KB국민은행]", B), ("1588-9999", H)],
        renders=7,
    ),
    T(
        "ko-gov-rrn",
        "ko",
        "government",
        "email",
        "${name}님, 주민등록번호 ${kr_rrn}로 신청하신 민원이 접수되었습니다. 문의: 국번없이 110",
        renders=6,
    ),
    T(
        "ko-shop-shipped",
        "ko",
        "shop",
        "sms",
        "[쿠팡] 주문하신 ${product} 상품이 ${date} 도착 예정입니다. 배송조회 ${short_link}",
        keep=[("[쿠팡]", B)],
        renders=7,
    ),
    T(
        "ko-travel-ktx",
        "ko",
        "travel",
        "sms",
        "[코레일] ${name}님 ${date} ${train} ${time} 출발 승차권이 발권되었습니다. 예약번호 ${pnr}",
        keep=[("[코레일]", B)],
        renders=6,
    ),
    T(
        "ko-travel-flight",
        "ko",
        "travel",
        "email",
        "${name}님, ${flight}편(${date} ${time}) 체크인이 완료되었습니다. 여권번호 ${passport}",
        renders=6,
    ),
    T(
        "ko-saas-login",
        "ko",
        "saas",
        "email",
        "로그인 링크: ${magic_link} (10분간 유효)\n본인이 아니라면 ${email}로 알려주세요.",
        renders=6,
    ),
    T(
        "ko-clinic",
        "ko",
        "clinic",
        "sms",
        "[서울아산병원] ${name}님 ${date} ${time} 진료 예약. "
        "등록된 연락처 ${phone}로 안내드립니다.",
        keep=[("[서울아산병원]", B)],
        renders=6,
    ),
    T(
        "ko-saas-code",
        "ko",
        "saas",
        "push",
        "인증코드 ${code_letters} — 타인에게 알려주지 마세요.",
        renders=6,
    ),
    # --- de ---------------------------------------------------------------------------
    T(
        "de-bank-iban",
        "de",
        "bank",
        "email",
        "Sehr geehrte/r ${name}, wir haben ${amount} € auf Ihr Konto ${iban} überwiesen "
        "(Buchungstag ${date}).",
        renders=7,
    ),
    T(
        "de-bank-tan",
        "de",
        "bank",
        "sms",
        "Ihre mobileTAN für die Überweisung über ${amount} EUR lautet ${split_code}. "
        "Sparkasse, Tel. 0800 1234 000.",
        keep=[("0800 1234 000", H)],
        renders=7,
    ),
    T(
        "de-gov-tax",
        "de",
        "government",
        "email",
        "Finanzamt ${city}: Ihre steuerliche Identifikationsnummer ${de_tax_id} wurde "
        "Ihrer Erklärung vom ${date} zugeordnet.",
        renders=6,
    ),
    T(
        "de-gov-passport",
        "de",
        "government",
        "sms",
        "Bürgeramt: Ihr Reisepass ${de_passport} liegt ab ${date} zur Abholung bereit.",
        renders=6,
    ),
    T(
        "de-shop-shipped",
        "de",
        "shop",
        "sms",
        "Hallo ${name}, dein Paket ${waybill} kommt am ${date}. Sendungsverfolgung: ${short_link}",
        renders=6,
    ),
    T(
        "de-travel-ice",
        "de",
        "travel",
        "email",
        "Ihre Fahrkarte: ${train} am ${date}, Abfahrt ${time}. Auftragsnummer ${pnr}.",
        renders=6,
    ),
    T(
        "de-saas-login",
        "de",
        "saas",
        "email",
        "Hallo ${name}, melde dich mit diesem Link an: ${magic_link}\n"
        "Dein Einmal-Code lautet ${code_letters}.",
        renders=6,
    ),
    T(
        "de-clinic",
        "de",
        "clinic",
        "sms",
        "Praxis Dr. Weber: Ihr Termin am ${date} um ${time}. Wir rufen Sie unter ${phone} zurück.",
        renders=6,
    ),
    T(
        "de-saas-password",
        "de",
        "saas",
        "email",
        "Ihr vorläufiges Passwort lautet ${temp_password}. Bitte ändern Sie es nach der "
        "ersten Anmeldung. Kontakt: ${email}",
        renders=6,
    ),
    T(
        "de-bank-card",
        "de",
        "bank",
        "push",
        "Zahlung mit Karte ${card}: ${amount} € bei REWE ${city}.",
        renders=4,
    ),
    T(
        "de-gov-elster",
        "de",
        "government",
        "email",
        "ELSTER: Ihr Abrufcode für die Steuer-ID ${de_tax_id} lautet ${code_letters}. "
        "Er ist bis zum ${date} gültig.",
        renders=5,
    ),
    T(
        "de-bank-cvc",
        "de",
        "bank",
        "email",
        "Ihre virtuelle Kreditkarte ${card} ist aktiv. Prüfnummer (CVC): ${cvv}. "
        "Gutschein-Code: ${gift_code}",
        renders=4,
    ),
    # --- es ---------------------------------------------------------------------------
    T(
        "es-bank-otp",
        "es",
        "bank",
        "sms",
        "BBVA: El código ${split_code} es para confirmar tu compra de ${amount} € en Amazon. "
        "No lo compartas. Info: 900 102 801",
        keep=[("900 102 801", H)],
        renders=8,
    ),
    T(
        "es-bank-iban",
        "es",
        "bank",
        "email",
        "Hola ${name}, hemos recibido una transferencia de ${amount} € en tu cuenta ${iban} "
        "el ${date}.",
        renders=7,
    ),
    T(
        "es-gov-dni",
        "es",
        "government",
        "email",
        "Agencia Tributaria: ${name}, con DNI/NIE ${es_dni}, su declaración de la renta ha "
        "sido presentada el ${date}.",
        renders=7,
    ),
    T(
        "es-shop-delivery",
        "es",
        "shop",
        "sms",
        "Tu pedido ${order} llega el ${date}. El repartidor te llamará al ${phone}. "
        "Sigue el envío: ${short_link}",
        renders=7,
    ),
    T(
        "es-travel-ave",
        "es",
        "travel",
        "email",
        "Renfe: ${name}, tu billete ${train} del ${date} a las ${time}. Localizador: ${pnr}.",
        renders=7,
    ),
    T(
        "es-travel-flight",
        "es",
        "travel",
        "email",
        "Iberia: tarjeta de embarque del vuelo ${flight} (${date}). Pasaporte ${passport}.",
        renders=6,
    ),
    T(
        "es-clinic",
        "es",
        "clinic",
        "sms",
        "Clínica Vital: ${name}, cita el ${date} a las ${time}. "
        "Para cancelar llama al 91 123 45 67.",
        keep=[("91 123 45 67", H)],
        renders=6,
    ),
    T(
        "es-saas-login",
        "es",
        "saas",
        "email",
        "Accede a tu cuenta con este enlace: ${magic_link}\nContraseña temporal: ${temp_password}",
        renders=6,
    ),
    T(
        "es-saas-code",
        "es",
        "saas",
        "push",
        "Tu código de verificación es ${code_letters}",
        renders=6,
    ),
    T(
        "es-shop-gift",
        "es",
        "shop",
        "email",
        "¡Hola ${name}! Tu tarjeta regalo ${gift_code} tiene un saldo de ${amount} €.",
        renders=4,
    ),
    # --- fr ---------------------------------------------------------------------------
    T(
        "fr-bank-otp",
        "fr",
        "bank",
        "sms",
        "Crédit Agricole : votre code de validation est ${code_letters}. Ne le communiquez "
        "jamais. Service client 09 69 39 92 91.",
        keep=[("09 69 39 92 91", H)],
        renders=7,
    ),
    T(
        "fr-bank-iban",
        "fr",
        "bank",
        "email",
        "Bonjour ${name}, un virement de ${amount} € a été émis vers le compte ${iban} le ${date}.",
        renders=7,
    ),
    T(
        "fr-gov-nir",
        "fr",
        "government",
        "email",
        "Ameli : ${name}, votre numéro de sécurité sociale ${fr_nir} est rattaché à votre "
        "carte Vitale depuis le ${date}. Contact : 3646.",
        keep=[("3646", H)],
        renders=7,
    ),
    T(
        "fr-shop-shipped",
        "fr",
        "shop",
        "sms",
        "Votre colis ${waybill} sera livré le ${date}. Suivi : ${short_link}",
        renders=7,
    ),
    T(
        "fr-travel-tgv",
        "fr",
        "travel",
        "email",
        "SNCF Connect : ${name}, votre ${train} du ${date} part à ${time}. Référence ${pnr}.",
        renders=7,
    ),
    T(
        "fr-travel-flight",
        "fr",
        "travel",
        "email",
        "Air France : embarquement du vol ${flight} le ${date} à ${time}. Passeport ${passport}.",
        renders=6,
    ),
    T(
        "fr-clinic",
        "fr",
        "clinic",
        "sms",
        "Doctolib : RDV le ${date} à ${time} avec Dr Lambert. Code d'accès : ${split_code}. "
        "Nous vous rappellerons au ${phone}.",
        renders=6,
    ),
    T(
        "fr-saas-login",
        "fr",
        "saas",
        "email",
        "Bonjour ${name}, connectez-vous via ce lien : ${magic_link}\n"
        "Votre jeton d'API : ${api_key}",
        renders=6,
    ),
    T(
        "fr-saas-recovery",
        "fr",
        "saas",
        "email",
        "Code de récupération : ${recovery_code}. Adresse du compte : ${email}",
        renders=5,
    ),
]
