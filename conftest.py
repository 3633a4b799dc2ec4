"""Settings for every test process, whichever folder its tests are in (tests/, local/tests/)."""

import os

# botocore 1.44 (the locks hold 1.43 for now) sends DynamoDB Streams calls to
# {account}.streams-ddb.{region}, an endpoint moto 5.2.5's mock does not route; the regional
# endpoint serves the same API.
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
