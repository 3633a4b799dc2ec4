"""The campaign aggregate: a campaign, its recipient chunks, its messages (one per recipient) and
its counters.

- `model`: typed records and the lifecycle rules (pure).
- `requests`: what POST /campaigns accepts (pydantic).
- `workflow`: the decisions of the campaign workflow's steps (pure).
- `store`: every read and write of the aggregate's records in DynamoDB (the only I/O).
- `service`: the flows the handlers call, one function each.
- `callbacks`: the callback flow, apart so that the callback handler imports no other flow.
"""
