"""`ProofOfWork`: challenge clients to pay a little CPU, then let them through on a metered pass.

Hashing is nearly free for an attacker with a GPU (one H200 does ~14.7 G SHA-256/s), so the
protection comes from what each solve buys, not from difficulty alone: every challenge and every
clearance is bound to the client's network prefix and User-Agent, each clearance carries its own
token bucket, and issuing, redeeming and cleared traffic are all rate-limited per prefix. See
docs/proof-of-work.md for the protocol and the security model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from ..body import SAFE_METHODS, Body, body_of, form_fields, form_value
from ..errors import ConfigurationError
from ..facts import Facts
from ..keys import tag_of
from ..layer import Flow, Progress
from ..match import Matcher
from ..ops import Add, Bucket, Count, Get, Incr, LimitState, Op, Take
from ..pow import puzzle, replies, tokens
from ..pow.assets import asset_reply
from ..pow.form import FORM_FIELD, Replay
from ..pow.page import PageText
from ..pow.redirect import safe_return
from ..pow.tells import QUERY_PARAM as TELLS_PARAM
from ..pow.tells import Tells, TellScore
from ..pow.tells import resolve as resolve_tells
from ..rate import Rate
from ..secret import SecretInput, resolve_secrets
from ..verdict import Action, Reason, Reply, Verdict

__all__ = [
    "ANSWER_HEADER",
    "BASE_PATH",
    "CLEARANCE_HEADER",
    "FORM_FIELD",
    "ProofOfWork",
]

#: Reserved path prefix the layer answers under (assets and the verify endpoint).
BASE_PATH = "/.shieldware/pow/"
#: API clients send ``<challenge token>;<n0>,<n1>,...`` in this header.
ANSWER_HEADER = "shieldware-pow-answer"
ANSWER_NAME = "Shieldware-PoW-Answer"  # as documents spell it
#: API clients receive (and send back) their clearance token in this header.
CLEARANCE_HEADER = "shieldware-clearance"

#: Score of earlier layers -> extra bits per sub-puzzle (each bit doubles the work).
DEFAULT_TIERS: tuple[tuple[float, int], ...] = ((10.0, 1), (15.0, 2), (20.0, 3))


#: Reasons of a request this layer let through: a threshold's challenge must not charge it twice.
_PASSED = frozenset({Reason.CLEARED, Reason.SOLVED, Reason.ACTION_PROVED})
#: What `_mint` answers: the new challenge, or why none was issued.
MintFlow = Generator[Op[Any], Any, "tokens.Challenge | Verdict"]


class ProofOfWork:
    """Challenge the requests it covers unless the client holds a valid, unspent clearance.

    It covers requests `match` accepts, requests whose score (from earlier layers) reaches
    `min_score`, or (when neither is given, nor `actions`) every request. Account actions (the
    unsafe-method requests `match` accepts, and those `actions` names) each need a fresh proof of
    their own instead of a clearance. Used as a `Challenger`, it answers a
    CHALLENGE `Threshold`. Browsers get an interstitial that solves in Web Workers; clients that
    do not accept HTML (or that `api` matches) get a 401 carrying the challenge (see
    `shieldware.client`). Whatever it covers, it answers the reserved path ``/.shieldware/pow/``
    (the page's script, worker and style, and the verify endpoint). Put it after the layers
    whose score it should see.

    :param secret: signing secret(s), oldest first; `SHIELDWARE_SECRET` when None.
    :param count: sub-puzzles per challenge; expected work is ``count * 2**bits`` hashes.
    :param bits: leading zero bits per sub-puzzle before any escalation.
    :param max_bits: the ceiling escalation may reach.
    :param tiers: ``(score, extra_bits)`` pairs: more work for clients earlier layers distrust.
    :param challenge_ttl: seconds a challenge may be redeemed in.
    :param clearance_ttl: seconds a clearance lives (30 minutes by default).
    :param meter: requests one clearance buys (its own token bucket); `meter_burst` at once.
    :param prefix_rate: cleared requests per network prefix, whatever the number of clearances.
    :param issue_rate: challenges issued per prefix; `redeem_rate`: answers accepted per prefix.
    :param ceiling_rate: challenges issued site-wide, at most (`ceiling_burst` at once): past it
        the layer refuses to issue (503 with Retry-After) rather than raise anyone's difficulty.
    :param level_ttl: seconds a network's escalation level lives after its last rise.
    :param fast_hashrate: hashes/s above which a solve is flagged as faster than a browser.
    :param fast_weight: weight added to flagged solves and to requests using their clearance.
    :param actions: requests that need a fresh single-use proof each, bound to their method, path
        and network (a clearance never covers them), besides those `per_action` names.
    :param per_action: unsafe-method requests (POST, PUT, PATCH, DELETE) that `match` accepts
        need a per-action proof (sign-up, login, password reset).
    :param form_field: the form field a per-action answer may travel in (`shieldware.body`).
    :param v4_prefix: / `v6_prefix`: the network a client is bound to and metered by.
    :param tells: automation tells the page reports with its answer (`shieldware.pow.tells`):
        None or True for the default `Tells`, False to collect nothing, or your own `Tells`.
    :param text: the interstitial's strings (translate by passing your own `PageText`).
    :param clock: seconds since the epoch (tests inject one).
    """

    def __init__(
        self,
        secret: SecretInput = None,
        *,
        match: Matcher | None = None,
        min_score: float | None = None,
        api: Matcher | None = None,
        actions: Matcher | None = None,
        per_action: bool = True,
        form_field: str = FORM_FIELD,
        name: str = "pow",
        count: int = 4,
        bits: int = 17,
        max_bits: int = 23,
        tiers: Sequence[tuple[float, int]] = DEFAULT_TIERS,
        challenge_ttl: int = 300,
        clearance_ttl: int = 1800,
        meter: str | Rate = "60/minute",
        meter_burst: int = 120,
        prefix_rate: str | Rate = "600/minute",
        prefix_burst: int = 600,
        issue_rate: str | Rate = "30/minute",
        issue_burst: int = 30,
        redeem_rate: str | Rate = "10/minute",
        redeem_burst: int = 10,
        ceiling_rate: str | Rate = "6000/minute",
        ceiling_burst: int = 1000,
        level_ttl: int = 3600,
        fast_hashrate: float = 50e6,
        fast_weight: float = 10.0,
        v4_prefix: int = 24,
        v6_prefix: int = 64,
        tells: Tells | bool | None = None,
        text: PageText | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        errors: list[str] = []
        if not name or not all(c.isalnum() or c in "-_" for c in name) or not name.isascii():
            errors.append(f"name must be [A-Za-z0-9_-]+, not {name!r}")
        if not 1 <= count <= puzzle.MAX_COUNT:
            errors.append(f"count must be 1..{puzzle.MAX_COUNT}")
        if not 1 <= bits <= max_bits <= puzzle.MAX_BITS:
            errors.append(f"need 1 <= bits <= max_bits <= {puzzle.MAX_BITS}")
        if challenge_ttl < 10 or clearance_ttl < 10:
            errors.append("challenge_ttl and clearance_ttl must be at least 10 seconds")
        if not (8 <= v4_prefix <= 32 and 16 <= v6_prefix <= 128):
            errors.append("v4_prefix must be 8..32 and v6_prefix 16..128")
        if min(meter_burst, prefix_burst, issue_burst, redeem_burst, ceiling_burst) < 1:
            errors.append("bursts must be at least 1")
        if level_ttl < 1:
            errors.append("level_ttl must be at least 1 second")
        if not form_field or not all(c.isalnum() or c in "-_" for c in form_field):
            errors.append(f"form_field must be [A-Za-z0-9_-]+, not {form_field!r}")
        if errors:
            raise ConfigurationError("invalid ProofOfWork: " + "; ".join(errors))
        self.name = name
        #: The store ops this layer sends (checked against the store when the Shield is built).
        self.ops = frozenset({Add, Get, Incr, Take})
        self.kit = tokens.TokenKit(resolve_secrets(secret, purpose="ProofOfWork"), name)
        self.match = match
        self.min_score = min_score
        self.api = api
        self.actions = actions
        self.per_action = per_action
        self.form_field = form_field
        self.count, self.bits, self.max_bits = count, bits, max_bits
        self.tiers = tuple(sorted(tiers, reverse=True))
        self.challenge_ttl, self.clearance_ttl = challenge_ttl, clearance_ttl
        self.fast_hashrate, self.fast_weight = fast_hashrate, fast_weight
        self.v4_prefix, self.v6_prefix = v4_prefix, v6_prefix
        self.tells = resolve_tells(tells)
        self.text = text or PageText()
        self.clock = clock
        self.verify_path = BASE_PATH + "verify"
        self._keys = f"sw:pow:{name}:"
        self._meter_spec = (Rate.parse(meter).interval_us, meter_burst)
        self._prefix_spec = (Rate.parse(prefix_rate).interval_us, prefix_burst)
        self._issue_spec = (Rate.parse(issue_rate).interval_us, issue_burst)
        self._redeem_spec = (Rate.parse(redeem_rate).interval_us, redeem_burst)
        self.level_ttl = level_ttl
        #: The site-wide ceiling on issuing: bounds the server's work, never anyone's difficulty.
        self._ceiling = Bucket(
            self._keys + "ceiling", Rate.parse(ceiling_rate).interval_us, ceiling_burst
        )
        self._pass = Verdict(Action.PASS, name, Reason.NOT_COVERED)

    def __repr__(self) -> str:
        return (
            f"ProofOfWork(name={self.name!r}, match={self.match!r}, min_score={self.min_score}, "
            f"count={self.count}, bits={self.bits})"
        )

    # -- the Layer and Challenger protocols ------------------------------------------------
    def check(self, facts: Facts, progress: Progress) -> Verdict | Flow:
        if facts.path.startswith(BASE_PATH):
            return self._endpoint(facts, progress)
        if facts.method not in SAFE_METHODS and self.is_action(facts):
            return self._action_gate(facts, progress)
        if not self._covers(facts, progress):
            return self._pass
        return self._gate(facts, progress)

    def is_action(self, facts: Facts) -> bool:
        """True when `facts` is an account action: it needs a proof of its own."""
        if facts.method in SAFE_METHODS:
            return False
        if self.per_action and self.match is not None and self.match(facts):
            return True
        return self.actions is not None and self.actions(facts)

    def wants_body(self, facts: Facts) -> bool:
        """Adapters ask before deciding (`shieldware.gate`): the body of an action that carries
        no answer header may hold the answer in `form_field`, and is what a challenged browser
        sends again."""
        return self.is_action(facts) and facts.header(ANSWER_HEADER) is None

    def challenge(self, facts: Facts, progress: Progress) -> Verdict | Flow:
        """Answer a CHALLENGE threshold: pass a request this layer already cleared."""
        for verdict in progress.trail:
            if verdict.rule == self.name and verdict.reason in _PASSED:
                # already metered and weighed in the chain: pass without charging twice
                return Verdict(Action.PASS, self.name, Reason.CLEARED)
        return self._gate(facts, progress)

    def _covers(self, facts: Facts, progress: Progress) -> bool:
        if self.match is None and self.min_score is None:
            return self.actions is None  # `actions` alone: page views are free
        if self.match is not None and self.match(facts):
            return True
        return self.min_score is not None and progress.score >= self.min_score

    # -- clients --------------------------------------------------------------------------
    def _client(self, facts: Facts) -> tuple[str, str]:
        prefix = facts.client.network(self.v4_prefix, self.v6_prefix) or "-"
        return prefix, tokens.binding(prefix, facts.user_agent)

    def _cookie_name(self, facts: Facts) -> str:
        return tokens.COOKIE_NAMES[1] if facts.secure else tokens.COOKIE

    def _wants_api(self, facts: Facts) -> bool:
        if self.api is not None and self.api(facts):
            return True
        return "text/html" not in (facts.header("accept") or "")

    def _bucket(
        self, kind: str, key: str, spec: tuple[int, int], slot: str | None = None
    ) -> Bucket:
        """A bucket key; buckets taken together share a ``{slot}`` hash tag (Redis Cluster)."""
        tagged = f"{{{tag_of((slot,))}}}:" if slot is not None else ""
        return Bucket(self._keys + tagged + kind + ":" + key, spec[0], spec[1])

    # -- the gate -------------------------------------------------------------------------
    def _gate(self, facts: Facts, progress: Progress) -> Flow:
        prefix, bound = self._client(facts)
        now = self.clock()
        answer = facts.header(ANSWER_HEADER)
        if answer is not None:
            token, _, nonces = answer.partition(";")
            verdict = yield from self._redeem(
                facts, prefix, bound, now, token.strip(), nonces, report=(None, True)
            )
            if verdict.action is Action.THROTTLE:
                return verdict
            if verdict.action is not Action.ALLOW:  # a fresh challenge says what went wrong
                why = "answer-" + verdict.reason
                verdict = yield from self._issue(facts, progress, prefix, bound, now, None, why)
                return verdict
            clearance = verdict.detail["clearance"]
            extra: tuple[tuple[str, str], ...] = ((CLEARANCE_HEADER, clearance.token),)
            solved: dict[str, Any] = {"solve_ms": verdict.detail["solve_ms"]}
        else:
            raw = facts.header(CLEARANCE_HEADER) or facts.cookie(self._cookie_name(facts))
            if not raw:
                verdict = yield from self._issue(facts, progress, prefix, bound, now, None, None)
                return verdict
            clearance = self.kit.read_clearance(raw, now=now, bound=bound)
            if isinstance(clearance, str):
                why = "clearance-" + clearance
                verdict = yield from self._issue(facts, progress, prefix, bound, now, None, why)
                return verdict
            extra = ()
            solved = {}
        states: tuple[LimitState, ...] = yield Take(
            (
                self._bucket("meter", clearance.tid, self._meter_spec, slot=prefix),
                self._bucket("traffic", prefix, self._prefix_spec, slot=prefix),
            )
        )
        meter, traffic = states
        if not traffic.allowed:
            return Verdict(
                Action.THROTTLE,
                self.name + "/traffic",
                Reason.PREFIX_TRAFFIC_EXCEEDED,
                status=429,
                retry_after=traffic.retry_after,
                headers=extra,
            )
        if not meter.allowed:
            # The network's level rises and stays (not the clearance's): dropping the dry
            # clearance and asking afresh gets the same level (a fresh challenge reads it).
            raised: int = yield Incr(self._level_key(prefix), self.level_ttl)
            level = max(clearance.level + 1, raised)
            why = Reason.CLEARANCE_SPENT
            verdict = yield from self._issue(facts, progress, prefix, bound, now, level, why)
            return verdict
        # An answer redeemed in a header (API mode) is a solve too: say so for the reporters.
        return Verdict(
            Action.PASS,
            self.name,
            Reason.SOLVED if solved else Reason.CLEARED,
            weight=(self.fast_weight if clearance.fast else 0.0) + clearance.tells,
            headers=extra,
            detail={
                "clearance": clearance.tid[:8],
                "remaining": meter.remaining,
                **({"tells": clearance.tells} if clearance.tells else {}),
                **solved,
            },
        )

    def _level_key(self, prefix: str) -> str:
        return self._keys + "level:" + prefix

    def _difficulty(self, score: float, issue: LimitState) -> int:
        """Extra bits for this asker: its score's tier, and +1 when its network keeps asking.

        Nothing here is site-wide: challenges other networks asked for (and never solved) raise
        nobody's difficulty but their own.
        """
        extra = next((bits for floor, bits in self.tiers if score >= floor), 0)
        if issue.remaining * 2 <= issue.limit:  # this prefix keeps asking: it pays more
            extra += 1
        return extra

    def _mint(
        self, progress: Progress, prefix: str, bound: str, now: float, level: int | None
    ) -> MintFlow:
        """A challenge for this client, or the verdict refusing one (issue budgets).

        `level` None reads the network's escalation level.
        """
        states: tuple[LimitState, ...] = yield Take(
            (self._bucket("issue", prefix, self._issue_spec),)
        )
        issue = states[0]
        if not issue.allowed:
            return Verdict(
                Action.THROTTLE,
                self.name + "/issue",
                Reason.CHALLENGE_RATE_EXCEEDED,
                status=429,
                retry_after=issue.retry_after,
            )
        ceiling: tuple[LimitState, ...] = yield Take((self._ceiling,))
        if not ceiling[0].allowed:
            return Verdict(
                Action.THROTTLE,
                self.name + "/ceiling",
                Reason.CHALLENGE_CEILING_REACHED,
                status=503,
                retry_after=max(1.0, ceiling[0].retry_after),
            )
        if level is None:
            held: Count | None = yield Get(self._level_key(prefix))
            level = held.value if held is not None else 0
        extra = self._difficulty(progress.score, issue)
        bits = min(self.max_bits, self.bits + extra + level)
        return self.kit.mint_challenge(
            now=now, ttl=self.challenge_ttl, count=self.count, bits=bits, level=level, bound=bound
        )

    def _issue(
        self,
        facts: Facts,
        progress: Progress,
        prefix: str,
        bound: str,
        now: float,
        level: int | None,
        why: str | None,
        replay: Replay | None = None,
        return_to: str | None = None,
    ) -> Flow:
        """Challenge this request: the interstitial for browsers, a 401 for API clients.

        `replay` (a challenged form post) makes the page send the form again with the answer;
        `return_to` overrides where the verify endpoint sends the browser back.
        """
        challenge = yield from self._mint(progress, prefix, bound, now, level)
        if isinstance(challenge, Verdict):
            return challenge
        reason = why or Reason.NO_CLEARANCE
        rule = self.name + "/challenge"
        detail = {
            "bits": challenge.bits,
            "count": self.count,
            "level": challenge.level,
            "cid": challenge.cid,
        }
        if self._wants_api(facts):
            reply = replies.api_challenge(
                challenge,
                rule=f"{rule}/{reason}",
                verify=self.verify_path,
                answer_header=ANSWER_NAME,
            )
        else:
            post = facts.method not in ("GET", "HEAD")
            if return_to is None:
                target = facts.path + ("?" + facts.query if facts.query and not post else "")
                return_to = safe_return(target)
            reply = replies.page_challenge(
                challenge,
                text=self.text,
                base=BASE_PATH,
                verify=self.verify_path,
                return_to=return_to,
                rule=f"{rule}/{reason}",
                post=post,
                replay=replay,
            )
        return Verdict(
            Action.CHALLENGE, rule, reason, status=reply.status, reply=reply, detail=detail
        )

    # -- one proof per account action -------------------------------------------------------
    def _action_of(self, facts: Facts) -> str:
        return f"{facts.method} {facts.path}"

    def _action_gate(self, facts: Facts, progress: Progress) -> Flow:
        """A sign-up, login or reset: a fresh single-use proof bound to this action and network.

        A clearance never covers it. The answer travels in the answer header (API clients,
        ``fetch``) or in `form_field` of the form body the adapter buffered. Without a valid one,
        a browser gets the interstitial carrying its form, which it sends again once solved.
        """
        prefix = facts.client.network(self.v4_prefix, self.v6_prefix) or "-"
        bound = tokens.binding(prefix, facts.user_agent, self._action_of(facts))
        now = self.clock()
        body = body_of(facts)
        answer = facts.header(ANSWER_HEADER)
        if answer is None and body is not None:
            answer = form_value(body, self.form_field)
        why = Reason.ACTION_PROOF_REQUIRED
        if answer:
            token, _, nonces = answer.partition(";")
            verdict = yield from self._redeem(
                facts, prefix, bound, now, token.strip(), nonces, mint=False
            )
            if verdict.action is Action.THROTTLE:
                return verdict
            if verdict.action is Action.ALLOW:
                detail = {k: v for k, v in verdict.detail.items() if k != "hashrate"}
                return Verdict(
                    Action.PASS,
                    self.name,
                    Reason.ACTION_PROVED,
                    weight=verdict.weight,
                    detail=detail,
                )
            why = "answer-" + verdict.reason
        if self._wants_api(facts):
            verdict = yield from self._issue(facts, progress, prefix, bound, now, None, why)
            return verdict
        replay = self._replay(facts, body)
        if replay is None:
            # The form cannot be carried (too large, not a form, a file): a browsing
            # challenge, then back to the page the form was on (never a GET of the action).
            browse = tokens.binding(prefix, facts.user_agent)
            back = self._referer_path(facts) or safe_return(facts.path)
            verdict = yield from self._issue(
                facts, progress, prefix, browse, now, None, why, return_to=back
            )
            return verdict
        verdict = yield from self._issue(facts, progress, prefix, bound, now, None, why, replay)
        return verdict

    def _replay(self, facts: Facts, body: Body | None) -> Replay | None:
        """The challenged form, to be sent again by the page: None when it cannot be."""
        if body is None:
            return None
        fields = form_fields(body)
        if fields is None:
            return None
        target = facts.path + ("?" + facts.query if facts.query else "")
        action = safe_return(target, default="")
        if not action:
            return None
        kept = tuple((k, v) for k, v in fields if k != self.form_field)
        return Replay(action, kept, self.form_field, body.multipart)

    @staticmethod
    def _referer_path(facts: Facts) -> str | None:
        """The same-origin page the request came from (path and query), or None."""
        referer = facts.header("referer")
        if not referer:
            return None
        try:
            parts = urlsplit(referer)
        except ValueError:
            return None
        if parts.scheme != facts.scheme or parts.netloc.lower() != facts.host:
            return None
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        return safe_return(target, default="") or None

    # -- redeeming ------------------------------------------------------------------------
    def _judge(self, raw: str | None, facts: Facts, *, api: bool) -> TellScore | None:
        return None if self.tells is None else self.tells.score(raw, facts, api=api)

    def _redeem(
        self,
        facts: Facts,
        prefix: str,
        bound: str,
        now: float,
        token: str,
        answer: str,
        *,
        report: tuple[str | None, bool] | None = None,
        mint: bool = True,
    ) -> Flow:
        """Check an answer; ALLOW with the new clearance in ``detail["clearance"]`` (when `mint`),
        or refuse.

        :param report: the automation tells' report and whether the answer came in API mode, to
            judge (`shieldware.pow.tells`); None to judge none. Judged only after the proof is
            checked and spent, so probing which tells fire costs a solve each time, and a forged
            answer costs no parsing.
        """
        challenge = self.kit.read_challenge(token, now=now, bound=bound)
        if isinstance(challenge, str):
            return self._refused(challenge)
        nonces = puzzle.parse_nonces(answer, challenge.puzzles)
        if nonces is None:
            return self._refused(tokens.MALFORMED)
        if challenge.bits < self.bits or challenge.puzzles < self.count:
            return self._refused(Reason.WRONG_DIFFICULTY)
        states: tuple[LimitState, ...] = yield Take(
            (self._bucket("redeem", prefix, self._redeem_spec),)
        )
        if not states[0].allowed:
            return Verdict(
                Action.THROTTLE,
                self.name + "/redeem",
                Reason.REDEEM_RATE_EXCEEDED,
                status=429,
                retry_after=states[0].retry_after,
            )
        if not puzzle.check(challenge.cid, challenge.bits, nonces):
            return self._refused(Reason.WRONG_ANSWER)
        fresh: bool = yield Add(
            self._keys + "spent:" + challenge.cid, max(1.0, challenge.expires - now + 1)
        )
        if not fresh:
            return self._refused(Reason.REPLAYED)
        judged = None if report is None else self._judge(report[0], facts, api=report[1])
        told: dict[str, Any] = {}
        if judged is not None and (judged.fired or judged.shadow):
            told = {"tells": judged.detail(), "signals": judged.fired}
            if judged.refused:
                return Verdict(
                    Action.DENY,
                    self.name + "/verify",
                    Reason.AUTOMATION_TELLS,
                    status=403,
                    detail=told,
                )
        carried = judged.carried if judged is not None else 0
        elapsed = max(0.001, now - challenge.issued_ms / 1000)
        hashrate = challenge.work / elapsed
        fast = hashrate > self.fast_hashrate
        detail: dict[str, Any] = {
            **told,
            "solve_ms": round(elapsed * 1000, 1),
            "hashrate": round(hashrate),
            "fast": fast,
            "bits": challenge.bits,
            "count": challenge.puzzles,
        }
        if mint:
            detail["clearance"] = self.kit.mint_clearance(
                now=now,
                ttl=self.clearance_ttl,
                level=challenge.level,
                fast=fast,
                bound=bound,
                tells=carried,
            )
        return Verdict(
            Action.ALLOW,
            self.name + "/verify",
            Reason.SOLVED,
            weight=(self.fast_weight if fast else 0.0) + carried,
            detail=detail,
        )

    def _refused(self, reason: str) -> Verdict:
        return Verdict(Action.DENY, self.name + "/verify", "pow-" + reason, status=403)

    # -- the reserved path ------------------------------------------------------------------
    def _endpoint(self, facts: Facts, progress: Progress) -> Verdict | Flow:
        name = facts.path[len(BASE_PATH) :]
        if name == "verify":
            return self._verify(facts)
        if name == "challenge" and facts.method in ("GET", "HEAD"):
            return self._action_challenge(facts, progress)
        reply = asset_reply(name) if facts.method in ("GET", "HEAD") else None
        if reply is None:
            return Verdict(
                Action.DENY,
                self.name + "/asset",
                Reason.NOT_FOUND,
                status=404,
                reply=Reply(404, (("content-type", "text/plain; charset=utf-8"),), b"Not found\n"),
            )
        return Verdict(Action.ALLOW, self.name + "/asset", Reason.ASSET, reply=reply)

    def _action_challenge(self, facts: Facts, progress: Progress) -> Flow:
        """``/.shieldware/pow/challenge?a=<path>[&m=POST]``: a challenge for one action, as JSON.

        The form helper (``pow-form.js``) asks for it while the person types, solves it in Web
        Workers and sends the answer with the form. Only actions get one.
        """
        target = safe_return(facts.query_param("a"), default="")
        verb = (facts.query_param("m") or "POST").upper()
        path = unquote(target.split("?", 1)[0])  # as the server will decode the post's path
        action = None
        if target and verb.isalpha() and len(verb) <= 10:
            action = facts.with_(method=verb, path=path)
        if action is None or not self.is_action(action):
            return Verdict(
                Action.DENY,
                self.name + "/action",
                Reason.NOT_AN_ACTION,
                status=404,
                reply=replies.not_an_action(),
            )
        prefix = action.client.network(self.v4_prefix, self.v6_prefix) or "-"
        bound = tokens.binding(prefix, facts.user_agent, self._action_of(action))
        now = self.clock()
        challenge = yield from self._mint(progress, prefix, bound, now, None)
        if isinstance(challenge, Verdict):
            return challenge
        reply = replies.action_json(
            challenge,
            action=self._action_of(action),
            ttl=self.challenge_ttl,
            field=self.form_field,
            header=ANSWER_NAME,
            worker=BASE_PATH + "pow-worker.js",
        )
        detail = {"bits": challenge.bits, "count": self.count, "level": challenge.level}
        return Verdict(
            Action.ALLOW,
            self.name + "/action",
            Reason.ACTION_CHALLENGE,
            reply=reply,
            detail=detail,
        )

    def _verify(self, facts: Facts) -> Flow:
        """``/.shieldware/pow/verify?c=<challenge>&s=<nonces>&r=<path>``: set the cookie."""
        prefix, bound = self._client(facts)
        now = self.clock()
        token, answer = facts.query_param("c") or "", facts.query_param("s") or ""
        header = facts.header(ANSWER_HEADER)
        if header is not None and not token:
            token, _, answer = header.partition(";")
        target = safe_return(facts.query_param("r"))
        api = self._wants_api(facts)
        verdict = yield from self._redeem(
            facts,
            prefix,
            bound,
            now,
            token.strip(),
            answer,
            report=(facts.query_param(TELLS_PARAM), api),
        )
        if verdict.action is not Action.ALLOW:
            status = verdict.status or 403
            reply = replies.refusal(
                status,
                verdict.reason,
                retry_after=verdict.retry_after,
                target=target,
                api=api,
                base=BASE_PATH,
                text=self.text,
            )
            return verdict._replace(status=status, reply=reply)
        clearance: tokens.Clearance = verdict.detail["clearance"]
        detail = {k: v for k, v in verdict.detail.items() if k != "clearance"}
        detail["clearance"] = clearance.tid[:8]
        if api:
            reply = replies.clearance_json(
                token=clearance.token, expires=clearance.expires, header=CLEARANCE_HEADER
            )
        else:
            reply = replies.cookie_redirect(
                cookie=self._cookie_name(facts),
                token=clearance.token,
                max_age=self.clearance_ttl,
                secure=facts.secure,
                target=target,
            )
        return Verdict(
            Action.ALLOW,
            verdict.rule,
            verdict.reason,
            weight=verdict.weight,
            reply=reply,
            detail=detail,
        )
