import sys
from pathlib import Path

# The tests import their sample tasks (tasks_sample.py) as a top-level module, as a worker would.
sys.path.insert(0, str(Path(__file__).parent))
