"""``parley dev``: every function's routes in one local server (``app``), with an embedded
DynamoDB (``localdb``) and a playground page (``playground``), started by ``server``."""
