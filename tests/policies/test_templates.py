"""Templates with classified parameters: validation, what is stored, what is shown."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from policies.masking import mask_email, mask_phone
from policies.personal_values import city_of
from policies.templates import (
    CLASS_NAMES,
    MAX_PARAMETER_VALUE_CHARS,
    SECRET_MASK,
    TEXT_MASK,
    PersonalKind,
    StoredParameters,
    TemplateRejected,
    is_parameter_name,
    mask_personal,
    parameter_problems,
    placeholders,
    render,
    render_disclosed,
    rendered_length,
    stored_parameters,
    template_problems,
)

LOGIN_BODY = "【招商银行】${name}您好，您的验证码为${code}，${minutes}分钟内有效，请勿泄露。"
LOGIN_CLASSES = {"name": "personal:name", "code": "secret", "minutes": "public"}

STATEMENT_BODY = (
    "Dear ${name}, your card ending ${card} was charged ${amount} at ${merchant} "
    "on ${date}. Statement sent to ${email}; delivery to ${address}. "
    "Reset your PIN: ${reset_link}"
)
STATEMENT_CLASSES = {
    "name": "personal:name",
    "card": "personal:number",
    "amount": "public",
    "merchant": "public",
    "date": "public",
    "email": "personal:email",
    "address": "personal:address",
    "reset_link": "secret",
}
STATEMENT_VALUES = {
    "name": "Margaret Okafor",
    "card": "4539 1488 0343 6467",
    "amount": "£1,249.00",
    "merchant": "John Lewis Oxford Street",
    "date": "2026-10-08",
    "email": "margaret.okafor@outlook.com",
    "address": "Flat 4, 27 Chalcot Road, London NW1 8LH, United Kingdom",
    "reset_link": "https://bank.example.co.uk/pin/reset?t=eyJhbGciOiJIUzI1NiJ9.kQ2",
}


# --- Validation --------------------------------------------------------------------------


def test_a_template_whose_placeholders_are_all_declared_and_used_is_valid() -> None:
    assert template_problems(LOGIN_BODY, LOGIN_CLASSES) == ()
    assert template_problems(STATEMENT_BODY, STATEMENT_CLASSES) == ()


def test_placeholders_are_listed_once_in_first_use_order() -> None:
    assert placeholders("${b} ${a} ${b}") == ("b", "a")


def test_an_undeclared_placeholder_is_named() -> None:
    (problem,) = template_problems("您的验证码为${code}，请于${expiry}前使用", {"code": "secret"})
    assert "expiry" in problem
    assert "code" not in problem


def test_a_declared_parameter_the_body_does_not_use_is_named() -> None:
    (problem,) = template_problems("Code: ${code}", {"code": "secret", "branch": "public"})
    assert "branch" in problem


@pytest.mark.parametrize("klass", ["Secret", "private", "personal:iban", "personal:", ""])
def test_an_unknown_class_names_the_parameter_and_lists_the_classes(klass: str) -> None:
    (problem,) = template_problems("${code}", {"code": klass})
    assert "code" in problem
    assert all(name in problem for name in CLASS_NAMES)


@pytest.mark.parametrize("klass", CLASS_NAMES)
def test_every_listed_class_is_accepted(klass: str) -> None:
    assert template_problems("${value}", {"value": klass}) == ()


@pytest.mark.parametrize(
    "body", ["${}", "${1code}", "${code", "${co de}", "$${", "${" + "a" * 65 + "}"]
)
def test_a_dollar_brace_that_opens_no_placeholder_is_refused(body: str) -> None:
    problems = template_problems(body + " ${code}", {"code": "secret"})
    assert any("does not open a placeholder" in problem for problem in problems)


def test_a_parameter_name_that_is_not_a_name_is_counted_not_quoted() -> None:
    problems = template_problems("${code}", {"code": "secret", "13812348000": "public"})
    assert any("1 parameter name" in problem for problem in problems)
    assert all("13812348000" not in problem for problem in problems)


def test_an_empty_body_is_refused() -> None:
    assert template_problems("", {}) != ()


@given(st.text(max_size=80))
def test_a_body_without_dollar_braces_needs_no_parameters(body: str) -> None:
    assume("${" not in body and body)
    assert template_problems(body, {}) == ()


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,63}", fullmatch=True))
def test_names_of_the_documented_form_are_parameter_names(name: str) -> None:
    assert is_parameter_name(name)
    assert placeholders("x${" + name + "}y") == (name,)


@given(st.text(max_size=70))
def test_parameter_names_match_the_documented_pattern_only(name: str) -> None:
    import re

    expected = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name) is not None
    assert is_parameter_name(name) is expected


# --- Parameters of a send ------------------------------------------------------------------


def test_secret_values_are_dropped_and_their_presence_kept() -> None:
    stored = stored_parameters(LOGIN_CLASSES, {"name": "王芳", "code": "482913", "minutes": "5"})
    assert stored.values == {"name": "王芳", "minutes": "5"}
    assert stored.secrets == frozenset({"code"})
    assert "482913" not in stored.to_json()


def test_missing_and_extra_parameters_are_named_and_values_are_not() -> None:
    with pytest.raises(TemplateRejected) as raised:
        stored_parameters(LOGIN_CLASSES, {"name": "王芳", "code": "482913", "branch": "Pudong"})
    message = str(raised.value)
    assert "minutes" in message
    assert "branch" in message
    assert "王芳" not in message
    assert "482913" not in message
    assert "Pudong" not in message


def test_an_extra_parameter_whose_name_is_not_a_name_is_counted_not_quoted() -> None:
    problems = parameter_problems({"code": "secret"}, {"code": "482913", "+86 138 1234 8000": "x"})
    assert problems == ("parameters the template does not declare: 1 not validly named",)


def test_an_oversized_value_names_its_parameter() -> None:
    long_address = "88 Jianguo Road, " * (MAX_PARAMETER_VALUE_CHARS // 10)
    (problem,) = parameter_problems({"address": "personal:address"}, {"address": long_address})
    assert "address" in problem
    assert "Jianguo" not in problem


def test_stored_parameters_read_back_from_their_json() -> None:
    stored = stored_parameters(STATEMENT_CLASSES, STATEMENT_VALUES)
    assert StoredParameters.from_json(stored.to_json()) == stored


@pytest.mark.parametrize(
    "text", ["", "[]", '{"values": {}}', '{"values": {"a": 1}, "secrets": []}', "null"]
)
def test_other_json_is_not_read_as_stored_parameters(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        StoredParameters.from_json(text)


# --- Rendering -----------------------------------------------------------------------------


def test_the_login_code_template_shows_the_name_initial_and_hides_the_code() -> None:
    values = {"name": "王芳", "code": "482913", "minutes": "5"}
    shown = render_disclosed(LOGIN_BODY, LOGIN_CLASSES, stored_parameters(LOGIN_CLASSES, values))
    assert shown == "【招商银行】王**您好，您的验证码为******，5分钟内有效，请勿泄露。"


def test_each_kind_of_a_statement_is_masked_by_its_rule() -> None:
    stored = stored_parameters(STATEMENT_CLASSES, STATEMENT_VALUES)
    shown = render_disclosed(STATEMENT_BODY, STATEMENT_CLASSES, stored)
    assert shown == (
        "Dear M**, your card ending **** **** **** 6467 was charged £1,249.00 at "
        "John Lewis Oxford Street on 2026-10-08. Statement sent to "
        f"{mask_email('margaret.okafor@outlook.com')}; delivery to London. "
        "Reset your PIN: ******"
    )


def test_rendering_is_one_pass_so_a_value_that_looks_like_a_placeholder_stays() -> None:
    classes = {"merchant": "public", "code": "secret"}
    stored = stored_parameters(classes, {"merchant": "${code}", "code": "771203"})
    assert render_disclosed("${merchant} ${code}", classes, stored) == "${code} ******"
    assert render("${merchant} ${code}", {"merchant": "${code}", "code": "771203"}) == (
        "${code} 771203"
    )


def test_a_placeholder_without_a_stored_value_or_a_known_class_shows_nothing_of_it() -> None:
    stored = StoredParameters(values={"amount": "12.00"}, secrets=frozenset({"code"}))
    body = "${amount} ${name} ${code} ${other}"
    shown = render_disclosed(body, {"amount": "public", "name": "personal:name"}, stored)
    assert shown == f"12.00 {TEXT_MASK} {SECRET_MASK} {TEXT_MASK}"


parameter_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
# Values long and distinctive enough not to occur in the body or other values by chance.
distinctive_values = st.text(
    alphabet=st.characters(exclude_categories=("Cs",)), min_size=8, max_size=40
)
any_values = st.text(max_size=40)


@st.composite
def templates(draw: st.DrawFn) -> tuple[str, dict[str, str], dict[str, str]]:
    names = draw(st.lists(parameter_names, min_size=1, max_size=6, unique=True))
    classes = {name: draw(st.sampled_from(CLASS_NAMES)) for name in names}
    pieces = draw(
        st.lists(st.sampled_from(["Hi ", "。", "$", "{", "}", " code ", "1"]), max_size=6)
    )
    body = "".join(
        piece + "${" + name + "}"
        for piece, name in zip(pieces + [""] * len(names), names, strict=False)
    )
    values = {name: draw(any_values) for name in names}
    return body, classes, values


@given(templates(), distinctive_values)
def test_rendering_never_contains_a_secret_value(
    template: tuple[str, dict[str, str], dict[str, str]], secret: str
) -> None:
    body, classes, values = template
    secret_names = [name for name, klass in classes.items() if klass == "secret"]
    assume(secret_names)
    assume(secret not in body and SECRET_MASK not in secret)
    assume(all(secret not in value for value in values.values()))
    values = {**values, **{name: secret for name in secret_names}}
    assume(template_problems(body, classes) == ())
    stored = stored_parameters(classes, values)
    assert secret not in stored.to_json()
    assert secret not in render_disclosed(body, classes, stored)


@given(st.text(max_size=60), st.dictionaries(st.text(max_size=10), st.text(max_size=12)))
def test_rendering_is_total(body: str, classes: dict[str, str]) -> None:
    stored = StoredParameters(values=dict.fromkeys(classes, "12 High St"), secrets=frozenset())
    assert isinstance(render_disclosed(body, classes, stored), str)


@given(templates())
def test_public_values_are_shown_verbatim_and_personal_ones_by_their_rule(
    template: tuple[str, dict[str, str], dict[str, str]],
) -> None:
    body, classes, values = template
    assume(template_problems(body, classes) == ())
    secrets = [values[n].strip() for n, k in classes.items() if k == "secret"]
    assume(
        not any(
            len(secret) >= 4 and secret in values[name]
            for secret in secrets
            for name, klass in classes.items()
            if klass != "secret"
        )
    )
    stored = stored_parameters(classes, values)
    expected = {}
    for name, klass in classes.items():
        if klass == "public":
            expected[name] = values[name]
        elif klass == "secret":
            expected[name] = SECRET_MASK
        else:
            kind = PersonalKind(klass.partition(":")[2] or "text")
            expected[name] = mask_personal(kind, values[name])
    assert render_disclosed(body, classes, stored) == render(body, expected)


# --- Masking personal values by kind ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        (PersonalKind.NAME, "张伟", "张**"),
        (PersonalKind.NAME, "  Ömer Yılmaz", "Ö**"),
        (PersonalKind.NAME, "", ""),
        (PersonalKind.NUMBER, "6222 0212 3456 7890", "**** **** **** 7890"),
        (PersonalKind.NUMBER, "POL-2024-88317342", "***-****-****7342"),
        (PersonalKind.NUMBER, "AB-1234", "**-****"),
        (PersonalKind.NUMBER, "1234567", "*******"),
        (PersonalKind.ADDRESS, "北京市朝阳区建国路88号", "北京市"),
        (PersonalKind.ADDRESS, "Calle de Alcalá 45, 28014 Madrid, España", "Madrid"),
        (PersonalKind.ADDRESS, "Flat 3, 12 High Street", TEXT_MASK),
        (PersonalKind.TEXT, "diabetes type 2", TEXT_MASK),
    ],
)
def test_personal_values_are_masked_by_kind(kind: PersonalKind, value: str, shown: str) -> None:
    assert mask_personal(kind, value) == shown


@pytest.mark.parametrize("value", ["wang.fang@163.com", "not an address"])
def test_email_values_are_masked_as_email_recipients(value: str) -> None:
    assert mask_personal(PersonalKind.EMAIL, value) == mask_email(value)


@pytest.mark.parametrize("value", ["+8613812348000", "+44 7700 900123", "12"])
def test_phone_values_are_masked_as_phone_recipients(value: str) -> None:
    assert mask_personal(PersonalKind.PHONE, value) == mask_phone(value)


@given(st.text(max_size=40))
def test_a_number_keeps_its_separators_and_at_most_its_last_four_characters(value: str) -> None:
    shown = mask_personal(PersonalKind.NUMBER, value)
    assert len(shown) == len(value)
    alphanumeric = [index for index, char in enumerate(value) if char.isalnum()]
    kept = alphanumeric[-4:] if len(alphanumeric) >= 8 else []
    for index, char in enumerate(value):
        if char.isalnum() and index not in kept:
            assert shown[index] == "*"
        else:
            assert shown[index] == char


@given(
    st.sampled_from([kind for kind in PersonalKind if kind is not PersonalKind.ADDRESS]),
    st.text(min_size=8, max_size=60),
)
def test_a_masked_personal_value_never_contains_the_value(kind: PersonalKind, value: str) -> None:
    # '*' is what masking writes: a value made of it is already masked.
    assume("*" not in value and any(char.isalnum() for char in value))
    assert value not in mask_personal(kind, value)


@given(st.text(max_size=80))
def test_an_address_shows_digit_free_words_of_itself_or_nothing(address: str) -> None:
    shown = mask_personal(PersonalKind.ADDRESS, address)
    if shown != TEXT_MASK:
        assert all(word in address for word in shown.split())
        assert not any(char.isdigit() for char in shown)
        assert any(char.isalpha() for char in shown)


@pytest.mark.parametrize(
    ("address", "city"),
    [
        ("广东省深圳市南山区科技园科苑路15号", "广东省深圳市"),
        ("上海市浦东新区世纪大道100号", "上海市"),
        ("人民大道100号", None),
        ("阳光花园小区3栋2单元501", None),
        ("東京都千代田区丸の内1-1-1", "東京都"),
        ("〒530-0001 大阪府大阪市北区梅田3-1-1", "大阪府"),
        ("北海道札幌市中央区北1条西2丁目", "北海道"),
        ("서울특별시 강남구 테헤란로 152", "서울특별시"),
        ("경기도 성남시 분당구 판교역로 235", "경기도"),
        ("1600 Amphitheatre Parkway, Mountain View, CA 94043, USA", "Mountain View"),
        ("Unter den Linden 77, 10117 Berlin, Deutschland", "Berlin"),
        ("10 Downing Street, London SW1A 2AA, United Kingdom", "London"),
        ("12 rue de Rivoli\n75001 Paris\nFrance", "Paris"),
        ("221B Baker Street", None),
        ("", None),
        # Names and addresses passed as an address show nothing.
        ("zhang.wei@zhangwei-family.cn", None),
        ("Attn: Zhang Wei", None),
        ("Zhang Wei, Flat 3", None),
        ("Berlin", None),
    ],
)
def test_the_city_of_an_address(address: str, city: str | None) -> None:
    assert city_of(address) == city


@given(
    st.lists(
        st.sampled_from(["${a}", "${b}", "${c}", "text ", "$", "{a}", "${", "}"]), max_size=30
    ),
    st.dictionaries(st.sampled_from(["a", "b"]), st.text(max_size=20)),
)
def test_rendered_length_is_the_length_of_the_rendered_body(
    pieces: list[str], values: dict[str, str]
) -> None:
    body = "".join(pieces)
    assert rendered_length(body, values) == len(render(body, values))


def test_a_secret_repeated_inside_a_stored_parameter_is_refused_naming_both() -> None:
    classes = {"code": "secret", "ref": "public", "name": "personal:name"}
    with pytest.raises(TemplateRejected) as refused:
        stored_parameters(classes, {"code": "482913", "ref": "ZQX-482913", "name": "王"})
    assert "'ref'" in str(refused.value)
    assert "'code'" in str(refused.value)
    assert "482913" not in str(refused.value)
    # A short secret (a 3-digit value) may coincide with another value by chance.
    kept = stored_parameters(classes, {"code": "123", "ref": "A-123", "name": "王"})
    assert kept.values["ref"] == "A-123"
