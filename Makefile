# The two commands (see README):
#   make sandbox   the main job on an embedded local default
#   make test      everything CI runs
.PHONY: sandbox test bootstrap lint lock

bootstrap:
	bash tests/env/bootstrap.sh

# Brings a region up (it keeps running: `edgeops sandbox status`, `edgeops sandbox down`), then runs the demo on it:
# a canary PR through plan, merge, steps and promotion, then a slow version rolled back (docs/sandbox.md).
sandbox: bootstrap
	bash -c 'source tests/env/common.sh && edgeops sandbox up && edgeops sandbox demo'

test: bootstrap
	bash tests/run.sh

lint:
	bash tests/run.sh checks

lock:
	bash -c 'source tests/env/common.sh && "$$EDGEOPS_CACHE/uv/bin/uv" lock'
