#!/bin/sh
# Collect the static files as production serves them: DEBUG off, so the storage is whitenoise's
# CompressedManifestStaticFilesStorage and the hashed-name manifest is written (with DEBUG on
# there is none, and the admin and /api/docs/ answer 500 at run time).
#
# Production settings refuse to load without their secrets; these values exist only for this
# one command, are never written anywhere, and DATABASE_URL points at a port nothing listens on,
# so the step fails loudly if it ever needs a database. Run by the Dockerfile and by
# .ci/image_runtime_check.py, from the project directory.
set -eu
env DEBUG=False \
    SECRET_KEY=collectstatic-build-only-not-a-secret \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://collectstatic@127.0.0.1:9/none \
    ENCRYPTION_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    STRIPE_SECRET_KEY=sk_build_only \
    STRIPE_WEBHOOK_SECRET=whsec_build_only \
    REDIS_URL= \
    python3 manage.py collectstatic --noinput --verbosity 1
