"""schemathesis hooks for scripts/api-fuzz.sh.

The fuzzer may revoke or roll any token it finds, but not the one it authenticates with: once that
is gone every later request is a 401 and the run tests nothing more. Listing the account's tokens
hands the fuzzer that token's id, so a call aimed at it is aimed at no token instead (an id that
cannot exist, answered 404 like any other unknown id).
"""

import os

import schemathesis

PROTECTED = {value for value in os.environ.get("KEYFLARE_FUZZ_PROTECTED", "").split(",") if value}
NO_SUCH_TOKEN = "00000000-0000-4000-8000-000000000000"


@schemathesis.hook
def before_call(context, case, kwargs):
    parameters = case.path_parameters or {}
    if case.path.startswith("/api/access-tokens/") and parameters.get("id") in PROTECTED:
        parameters["id"] = NO_SUCH_TOKEN
