# Production image: gunicorn serving VaultCore; the same image runs the Celery worker and beat
# (docker-compose.yml). Two stages: `build` installs the runtime requirements (never
# requirements-dev.txt) into a virtual environment; the final stage copies only that environment
# and the code, collects the static files with the production settings and no database, and
# runs as an unprivileged user.
#
# CI runs this file's ENV and RUN steps and its CMD without Docker, in a fresh virtual
# environment against a throwaway database (.ci/image_runtime_check.py reads them from here), and
# checks that /admin/login/ and /api/docs/ answer 200. Keep every step a plain shell command that
# refers to the environment through $VENV.

FROM python:3.11-slim AS build
ENV VENV=/opt/venv PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements.txt .
RUN python3 -m venv "$VENV" && "$VENV/bin/pip" install -r requirements.txt

FROM python:3.11-slim AS runtime
ENV VENV=/opt/venv PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp
ENV PATH=$VENV/bin:$PATH
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . .
# Production settings (DEBUG off: the hashed-name manifest is written) with build-only values
# and a database address that refuses connections: nothing here may reach a database, and no
# value of this step stays in the image (deploy/collectstatic.sh).
RUN sh deploy/collectstatic.sh
# Not root; owns no file of the image (the code and static files are read-only to it).
USER 1001:1001

EXPOSE 8000
# gunicorn.conf.py: stock sync workers, one per core plus one (GUNICORN_* variables override);
# run it behind the reverse proxy (deploy/nginx.conf). Migrations: `python manage.py migrate`.
CMD ["gunicorn", "vaultcore.wsgi:application"]
