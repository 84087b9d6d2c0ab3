"""Our notifier as the Lambda runtime runs it, in a fresh process: ``python bench/our_notifier.py EVENT.json``."""

import json
import sys
from pathlib import Path

from handler.app import lambda_handler


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


if __name__ == "__main__":
    lambda_handler(json.loads(Path(sys.argv[1]).read_text()), Context())
