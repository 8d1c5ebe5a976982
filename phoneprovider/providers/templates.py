"""Phone templates: the built-in default bodies and Liquid rendering into as_text / as_voice."""

import functools
import time
from collections.abc import Sized
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from liquid import Environment
from liquid.exceptions import LiquidError, ResourceLimitError

# Bounds on one render, far above any real SMS or voice body (Twilio takes 1,600 characters) and
# far below what hurts a web thread: a template is written by staff or through the API, and a
# loop to 100,000,000 or a string squared by `split | join` must fail fast, not spin.
MAX_LOOP_ITERATIONS = 10_000  # all loops of one render together, nested ones included
MAX_OUTPUT_CHARS = 20_000
MAX_VALUE_CHARS = 20_000  # any string or list a filter takes or makes
MAX_NESTING = 30
MAX_RENDER_SECONDS = 1.0

_deadline: ContextVar[float] = ContextVar("liquid_render_deadline", default=float("inf"))


def _limit(message: str) -> ResourceLimitError:
    return ResourceLimitError(message, token=None)


def _too_big(value) -> bool:
    return isinstance(value, Sized) and not isinstance(value, dict) and len(value) > MAX_VALUE_CHARS


def _check_filter(name: str, left, args) -> None:
    if time.monotonic() > _deadline.get():
        raise _limit(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")
    if _too_big(left) or any(_too_big(arg) for arg in args):
        raise _limit(f"a value given to {name} is over {MAX_VALUE_CHARS} characters")
    # The two filters whose result can be the product of their inputs' sizes: check first.
    if name == "join" and isinstance(left, Sized) and not isinstance(left, str):
        separator = str(args[0]) if args else " "
        if len(left) * (len(separator) + 1) > MAX_VALUE_CHARS:
            raise _limit(f"join would make over {MAX_VALUE_CHARS} characters")
    if name == "replace" and isinstance(left, str) and len(args) >= 2:
        old, new = str(args[0]), str(args[1])
        count = left.count(old) if old else len(left) + 1
        if len(left) + count * len(new) > MAX_VALUE_CHARS:
            raise _limit(f"replace would make over {MAX_VALUE_CHARS} characters")


def _bounded(name: str, filter_):
    @functools.wraps(filter_)
    def bounded(left, *args, **kwargs):
        _check_filter(name, left, args)
        result = filter_(left, *args, **kwargs)
        if _too_big(result):
            raise _limit(f"{name} made over {MAX_VALUE_CHARS} characters")
        return result

    return bounded


class _BoundedEnvironment(Environment):
    loop_iteration_limit = MAX_LOOP_ITERATIONS
    output_stream_limit = MAX_OUTPUT_CHARS
    local_namespace_limit = MAX_VALUE_CHARS
    context_depth_limit = MAX_NESTING
    block_nesting_limit = MAX_NESTING

    def setup_tags_and_filters(self, *args, **kwargs) -> None:
        super().setup_tags_and_filters(*args, **kwargs)
        self.filters = {name: _bounded(name, f) for name, f in self.filters.items()}


_liquid = _BoundedEnvironment()

# Spoken as a short silence by text-to-speech engines; in text bodies it is dropped.
VOICE_PAUSE = " . . . "

_SPELLED = "{{ code | split: '' | join: ', ' }}"

DEFAULT_BODIES: dict[str, dict[str, str]] = {
    "otp_verify": {
        "text": "{{ code }} is your {{ friendly_name }} verification code. "
        "It expires soon; do not share it with anyone.",
        "voice": f"Hello. Your {{{{ friendly_name }}}} verification code is {_SPELLED}."
        f"{{{{ pause }}}}Once more, your code is {_SPELLED}.",
    },
    "otp_enroll": {
        "text": "{{ code }} is your code to add this phone to your {{ friendly_name }} account. "
        "Do not share it with anyone.",
        "voice": f"Hello. Your code to add this phone to your {{{{ friendly_name }}}} account is "
        f"{_SPELLED}.{{{{ pause }}}}Once more, your code is {_SPELLED}.",
    },
    "change_password": {
        "text": "{{ code }} is your {{ friendly_name }} code to change your password. "
        "If you did not ask for it, ignore this message.",
        "voice": f"Hello. Your {{{{ friendly_name }}}} code to change your password is "
        f"{_SPELLED}.{{{{ pause }}}}Once more, your code is {_SPELLED}.",
    },
    "blocked_account": {
        "text": "Your {{ friendly_name }} account was blocked after too many failed sign-in "
        "attempts. Reply with the code {{ code }} to your support team to unblock it.",
        "voice": "Hello. Your {{ friendly_name }} account was blocked after too many failed "
        "sign-in attempts.{{ pause }}Please contact support to unblock it.",
    },
    "password_breach": {
        "text": "{{ friendly_name }}: your password was found in a data breach on another site. "
        "Please change it now.",
        "voice": "Hello. Your {{ friendly_name }} password was found in a data breach on another "
        "site.{{ pause }}Please change it now.",
    },
}


class TemplateSyntaxError(ValueError):
    """Invalid Liquid, with where: ``line`` and ``column`` count from 1."""

    def __init__(self, message: str, line: int | None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Rendered:
    as_text: str
    as_voice: str


@lru_cache(maxsize=256)
def _compiled(body: str):
    # Parsing is most of the cost of rendering; bodies change rarely, so keep them parsed.
    return _liquid.from_string(body)


def check_syntax(body: str) -> None:
    """Raise TemplateSyntaxError (with line and column) if ``body`` is not valid Liquid."""
    try:
        _compiled(body)
    except LiquidError as exc:
        line = column = None
        index = _error_index(exc)
        if index is not None:
            index = min(index, len(body))
            line = body.count("\n", 0, index) + 1
            column = index - (body.rfind("\n", 0, index) + 1) + 1
        raise TemplateSyntaxError(str(getattr(exc, "message", exc)), line, column) from exc


def _placed(token) -> bool:
    return isinstance(getattr(token, "start_index", None), int) and token.start_index >= 0


def _error_index(exc: LiquidError) -> int | None:
    """Where in the body Liquid's error is.

    Liquid names the token it failed at, but an error found at the end of an expression
    (``{{ name | }}``, an ``{% if %}`` never closed) comes with a stand-in "end of expression"
    token that has no position. The tokens Liquid was parsing then say where (the parser's
    frames name them ``token`` / ``expr_token``): the end of the innermost expression, which is
    what ended too soon, else the innermost tag or output.
    """
    token = getattr(exc, "token", None)
    if _placed(token):
        return token.start_index
    placed = []
    frame = exc.__traceback__
    while frame is not None:
        for name in ("token", "expr_token"):
            candidate = frame.tb_frame.f_locals.get(name)
            if _placed(candidate):
                placed.append(candidate)
        frame = frame.tb_next
    expressions = [t for t in placed if t.kind == "expression"]
    if expressions:
        return expressions[-1].start_index + len(str(expressions[-1].value).rstrip())
    return placed[-1].start_index if placed else None


class TemplateRenderError(ValueError):
    """A body could not be rendered: a bound above was hit, or Liquid failed at render time.
    ``field`` is ``text`` or ``voice``; the message is fit to show."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


def render_body(body: str, variables: dict, *, pause: str = " ", field: str = "text") -> str:
    """Render one body within the bounds; raises ``TemplateRenderError``."""
    token = _deadline.set(time.monotonic() + MAX_RENDER_SECONDS)
    try:
        return _compiled(body).render(**variables, pause=pause).strip()
    except ResourceLimitError as exc:
        raise TemplateRenderError(
            f"The {field} body does too much work: {_first_line(exc)} (at most "
            f"{MAX_LOOP_ITERATIONS} loop iterations, {MAX_OUTPUT_CHARS} characters of output "
            f"and of any value, {MAX_RENDER_SECONDS:g} s).",
            field,
        ) from None
    except LiquidError as exc:
        raise TemplateRenderError(
            f"The {field} body could not be rendered: {_first_line(exc)}", field
        ) from None
    finally:
        _deadline.reset(token)


def _first_line(exc: LiquidError) -> str:
    # Liquid's str() adds a source excerpt over several lines; the first says what went wrong.
    return str(getattr(exc, "message", None) or exc).splitlines()[0]


def render(text_body: str, voice_body: str, variables: dict) -> Rendered:
    """Render both bodies with the Auth0 template variables; ``pause`` speaks only in voice.

    Raises ``TemplateRenderError`` when a body breaks a bound (loops, output, value sizes,
    nesting, time) or fails at render time."""
    return Rendered(
        as_text=render_body(text_body, variables, pause=" ", field="text"),
        as_voice=render_body(voice_body, variables, pause=VOICE_PAUSE, field="voice"),
    )
