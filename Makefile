# Edulure Flow: two commands on a fresh clone (SPEC §2).
#   make up     install what is missing, start the embedded stack, migrate, seed, run the API and a worker
#   make test   the same set-up in the background, then typecheck, lint, migrate and the whole suite
#   make chaos  the same set-up, then only the fault suite in full; its figures go to RELIABILITY.md
#   make fuzz   the same set-up, then Schemathesis in full against /api/docs (make test runs a short one)
# The work is done by scripts/stack.sh (the stack parts) and scripts/dev.sh (what runs on top of them).
SHELL := /bin/bash
# Every recipe runs on the pinned Node.js LTS and npm that scripts/node.sh installs under .tools/node.
export PATH := $(CURDIR)/.tools/node/bin:$(PATH)
# STACK=cluster: the production engine instead of the dev server (the real Temporal server on Postgres,
# mTLS, its UI, two APIs and two workers); `make up STACK=cluster`, `make test STACK=cluster`.
STACK ?= embedded
export STACK
.DEFAULT_GOAL := help

.PHONY: help install up test chaos fuzz down status

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-8s %s\n", $$1, $$2 }'

install: ## install whatever is missing, pinned: npm ci, Temporal CLI, SeaweedFS, stripe-mock, Postgres 15, LibreOffice, poppler, ClamAV clamd; STACK=cluster: the Temporal server, its SQL tool and UI (go install)
	@scripts/stack.sh install

up: install ## start the stack, migrate, seed, run the API and a worker in the foreground (Ctrl-C stops all of it)
	@scripts/dev.sh up

test: install ## start what is missing in the background, typecheck, lint, migrate, run the suite, stop what it started
	@scripts/dev.sh test

chaos: install ## like test, but only the fault suite in full (every process × every fault), then its figures
	@scripts/dev.sh chaos

fuzz: install ## like test, but only Schemathesis in full: every role, more examples, the response-conformance checks
	@scripts/dev.sh fuzz

down: ## stop what `make up` (or scripts/stack.sh start) started; nothing else
	@scripts/stack.sh stop

status: ## which parts answer, and who started them
	@scripts/stack.sh status
