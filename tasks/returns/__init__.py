"""Returns: answer the invoices a buyer sent back, exactly once. A SUSPENDUE invoice is
completed (`completer`: documents and a comment), an A_RECYCLER one recycled (`recycler`: a new
recipient, service or engagement); requests come from `chorus-etl complete|recycle` or from an
export (`complements/NUMBER/`, a re-export changing only routing fields)."""

from tasks.returns.orders import Placed, ReturnOrder, place_order
from tasks.returns.protocol import Answerer, ReturnOutcome
from tasks.returns.reexport import REEXPORTS
from tasks.returns.requests import ComplementsReport, record_complements
from tasks.returns.stages import answer_returns, answerer

__all__ = [
    "REEXPORTS",
    "Answerer",
    "ComplementsReport",
    "Placed",
    "ReturnOrder",
    "ReturnOutcome",
    "answer_returns",
    "answerer",
    "place_order",
    "record_complements",
]
