"""Settings for every test process, whichever folder its tests are in (tests/, local/tests/)."""

import os

# botocore 1.44 sends DynamoDB Streams calls that name no endpoint to
# {account}.streams-ddb.{region}, an endpoint moto 5.2.5's in-process mock (mock_aws) does not
# route; the regional endpoint serves the same API. (The offline stack names its endpoint, which
# botocore uses first.)
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
