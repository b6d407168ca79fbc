"""Setup: check that an installation can work before it runs, from the PISTE token to each
entrepreneur's service on Chorus Pro (`chorus-etl doctor`, the config-check flow)."""

from tasks.setup.connectivity import check_token
from tasks.setup.doctor import CheckResult, Status, run_checks

__all__ = ["CheckResult", "Status", "check_token", "run_checks"]
