"""The event store read in order, in the events' public shape: what a rebuild replays.

The stored encoding belongs to the `eventsourcing` library and so to the scheduler;
everything outside it sees contract events, the same ones the relay publishes.
"""

from collections.abc import Iterator

from execflow_contracts import ExecutionEvent

from .application import ExecutionsApplication
from .publishing import to_contract

PAGE = 1000


class StoredEvents:
    """Notifications (id and event) of one application's store."""

    def __init__(self, app: ExecutionsApplication, page: int = PAGE) -> None:
        self._app = app
        self._page = page

    def head(self) -> int:
        """The id of the latest stored event (0 when there is none)."""
        return self._app.recorder.max_notification_id() or 0

    def events(self, after: int, upto: int) -> Iterator[tuple[int, ExecutionEvent]]:
        """The stored events with ids in (after, upto], in order."""
        while after < upto:
            page = self._app.recorder.select_notifications(after + 1, self._page, stop=upto)
            for notification in page:
                yield notification.id, to_contract(self._app.mapper.to_domain_event(notification))
            if len(page) < self._page:
                return
            after = page[-1].id
