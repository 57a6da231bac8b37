"""Who was active: per user, the requests they made and the conversations they made them in,
over one hour or one day. Engagement (active users, conversations per user, retention) is
read from these; they merge by union."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from parley.state.usage import UsageEvent

__all__ = ["ACTIVITY_CHUNK_USERS", "Activity", "UserActivity"]

# Users per stored item: keeps an item far below DynamoDB's 400 KB whatever the org's size.
ACTIVITY_CHUNK_USERS = 500


@dataclass
class UserActivity:
    requests: int = 0
    conversations: set[str] = field(default_factory=set)


@dataclass
class Activity:
    users: dict[str, UserActivity] = field(default_factory=dict)

    def add_event(self, event: UsageEvent) -> None:
        """A request's first call counts it once (retries and failovers are the same one)."""
        if event.attempt != 0:
            return
        user = self.users.setdefault(event.user_id, UserActivity())
        user.requests += 1
        if event.conversation_id:
            user.conversations.add(event.conversation_id)

    def merge(self, other: Activity) -> None:
        for user_id, theirs in other.users.items():
            mine = self.users.setdefault(user_id, UserActivity())
            mine.requests += theirs.requests
            mine.conversations |= theirs.conversations

    @property
    def active_users(self) -> int:
        return len(self.users)

    @property
    def conversations(self) -> int:
        return len({c for user in self.users.values() for c in user.conversations})

    def chunks(self) -> Iterator[dict[str, Any]]:
        """Plain values, ``ACTIVITY_CHUNK_USERS`` users per chunk, in user order (so a
        recomputed span writes the same chunks over the old ones, and never fewer)."""
        ordered = sorted(self.users)
        for start in range(0, len(ordered), ACTIVITY_CHUNK_USERS):
            yield {
                "users": {
                    user_id: {
                        "requests": self.users[user_id].requests,
                        "conversations": sorted(self.users[user_id].conversations),
                    }
                    for user_id in ordered[start : start + ACTIVITY_CHUNK_USERS]
                }
            }

    @classmethod
    def from_chunks(cls, chunks: Iterable[dict[str, Any]]) -> Activity:
        activity = cls()
        for chunk in chunks:
            for user_id, values in chunk.get("users", {}).items():
                activity.merge(
                    cls(
                        {
                            user_id: UserActivity(
                                int(values.get("requests", 0)),
                                set(values.get("conversations", [])),
                            )
                        }
                    )
                )
        return activity
