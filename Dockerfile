# The image behind `durastack api` and `durastack worker` in docker-compose.yml (docs/production.md).

# The web UI: built with Node in its own stage, so that the final image carries only ui/dist.
# The sources copied are those scripts/build-ui watches (tests/unit/test_compose.py checks both).
FROM node:22-slim AS ui
WORKDIR /ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY ui/index.html ui/vite.config.ts ui/precompress.ts ui/tsconfig.json ./
COPY ui/src/ src/
RUN npm run build

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only pyproject.toml and the packages it installs: the checkout also holds a .venv and caches
# that must stay out of the image. tests/unit/test_compose.py checks this list against pyproject.toml.
COPY pyproject.toml ./
COPY core/ core/
COPY workflows/ workflows/
COPY activities/ activities/
COPY api/ api/
COPY worker/ worker/
COPY backends/ backends/
COPY cli/ cli/
COPY store/ store/
COPY server/ server/
RUN pip install . \
    && rm -rf /src \
    && useradd --create-home durastack \
    && install -d -o durastack -g durastack /var/lib/durastack
# The API serves the UI from DURASTACK_UI_DIR: an installed package has no ui/dist beside it.
# (After pip install, so that a change to the UI alone leaves the Python layer cached.)
COPY --from=ui /ui/dist /usr/share/durastack/ui
ENV DURASTACK_UI_DIR=/usr/share/durastack/ui

# Jobs of the local backend run as this user, in the worker's container.
USER durastack
WORKDIR /var/lib/durastack
ENTRYPOINT ["durastack"]
CMD ["--help"]
