"""schemathesis hooks for scripts/api-fuzz.sh.

The fuzzer may revoke, roll, disable, restrict or delete anything it finds, but not what the run stands on: the tokens
it authenticates with, the source its ingest cases write to and the endpoint its query cases run.
Once those are gone every later case is a 401 or a 404 and the run tests nothing more. Listing them
hands the fuzzer their ids, so a DELETE or a roll aimed at one is aimed at an id that cannot exist
instead (answered 404 like any other unknown id). Reads still reach them.
"""

import os

import schemathesis

PROTECTED = {value for value in os.environ.get("KEYFLARE_FUZZ_PROTECTED", "").split(",") if value}
NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"


@schemathesis.hook
def before_call(context, case, kwargs):
    parameters = case.path_parameters or {}
    # Disabling a token, narrowing its scopes, or limiting where it may be used from, locks the run out as surely.
    destructive = (
        case.method.upper() in ("DELETE", "PATCH")
        or case.path.endswith("/roll")
        or case.path.endswith("/disable")
        or case.path.endswith("/suggestions/apply")
    )
    if destructive and parameters.get("id") in PROTECTED:
        parameters["id"] = NO_SUCH_ID
    # A default rate limit on the run's account would limit the run's own tokens: a valid one the
    # fuzzer sends is raised to the largest (invalid ones are left for the server to refuse).
    if case.method.upper() == "PATCH" and case.path == "/api/account" and isinstance(case.body, dict):
        # A token policy would refuse the run's later token creations (most give no expiry): a
        # valid one the fuzzer sends is replaced by null, which the server must take as well.
        policy = case.body.get("token_policy")
        if isinstance(policy, dict) and set(policy) <= {"max_lifetime_days", "expiry_required"}:
            days = policy.get("max_lifetime_days")
            required = policy.get("expiry_required")
            days_ok = days is None or (isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= 3650)
            required_ok = required is None or isinstance(required, bool)
            if days_ok and required_ok and (days is not None or required is True):
                case.body["token_policy"] = None
        limit = case.body.get("default_rate_limit")

        def valid(value, optional):
            if value is None:
                return optional
            return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1000000

        if (
            isinstance(limit, dict)
            and set(limit) <= {"requests_per_second", "burst", "events_per_second"}
            and valid(limit.get("requests_per_second"), False)
            and valid(limit.get("burst"), True)
            and valid(limit.get("events_per_second"), True)
        ):
            limit["requests_per_second"] = 1000000
            limit["burst"] = 1000000
            if limit.get("events_per_second") is not None:
                limit["events_per_second"] = 1000000
