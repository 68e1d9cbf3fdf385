# The two commands (see README):
#   make sandbox   the main job on an embedded local default
#   make test      everything CI runs
.PHONY: sandbox test bootstrap lint lock

bootstrap:
	bash tests/env/bootstrap.sh

sandbox: bootstrap
	bash -c 'source tests/env/common.sh && edgeops sandbox'

test: bootstrap
	bash tests/run.sh

lint:
	bash tests/run.sh checks

lock:
	bash -c 'source tests/env/common.sh && "$$EDGEOPS_CACHE/uv/bin/uv" lock'
