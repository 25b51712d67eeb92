"""IP allow and deny lists: the simplest decisive layer, and the chain's first real one."""

from __future__ import annotations

from collections.abc import Iterable

from ..clientip import Networks
from ..facts import Facts
from ..layer import Progress
from ..match import Matcher
from ..verdict import Action, Reason, Verdict

__all__ = ["IPList"]


class IPList:
    """Allow or deny clients by address or CIDR network.

    An allow-listed client skips every later layer (put this layer first for monitoring probes and
    office networks); a deny-listed one gets 403. Allow wins when a client is on both lists.

    :param allow: addresses and networks always let through.
    :param deny: addresses and networks always refused.
    :param match: only consider requests this matcher accepts (all requests by default).
    :param name: the layer's name, used in rule names (``"iplist/deny"``).
    """

    def __init__(
        self,
        *,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        match: Matcher | None = None,
        name: str = "iplist",
    ) -> None:
        self.name = name
        self.allow = Networks(allow)
        self.deny = Networks(deny)
        #: Empty lists can say nothing: the Shield leaves this layer out of its chain.
        self.inert = not self.allow and not self.deny
        self.match = match
        self._allowed = Verdict(Action.ALLOW, f"{name}/allow", Reason.IP_ALLOWED)
        self._denied = Verdict(Action.DENY, f"{name}/deny", Reason.IP_DENIED)
        self._pass = Verdict(Action.PASS, name, Reason.NOT_LISTED)

    def __repr__(self) -> str:
        return f"IPList(allow={self.allow!r}, deny={self.deny!r}, match={self.match!r})"

    def check(self, facts: Facts, progress: Progress) -> Verdict:
        if self.match is not None and not self.match(facts):
            return self._pass
        ip = facts.client.ip
        if ip in self.allow:
            return self._allowed
        if ip in self.deny:
            return self._denied
        return self._pass
