"""Reconcile: bring Chorus Pro's statuses into the warehouse (nightly, or over a past range), and
raise the alerts they call for: rejections, suspensions, late payments, an expiring password."""

from tasks.reconcile.history import import_history
from tasks.reconcile.run import GroupReconcile, reconcile_fanned_out, reconcile_group
from tasks.reconcile.stages import reconcile_supplier, sweep_overdue
from tasks.reconcile.statuses import SupplierSync

__all__ = [
    "GroupReconcile",
    "SupplierSync",
    "import_history",
    "reconcile_fanned_out",
    "reconcile_group",
    "reconcile_supplier",
    "sweep_overdue",
]
