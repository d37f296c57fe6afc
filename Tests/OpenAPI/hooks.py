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
    # Disabling a token, or limiting where it may be used from, locks the run out as surely.
    destructive = (
        case.method.upper() in ("DELETE", "PATCH")
        or case.path.endswith("/roll")
        or case.path.endswith("/disable")
    )
    if destructive and parameters.get("id") in PROTECTED:
        parameters["id"] = NO_SUCH_ID
