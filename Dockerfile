# The image behind `durastack api` and `durastack worker` in docker-compose.yml (docs/production.md).
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

# Jobs of the local backend run as this user, in the worker's container.
USER durastack
WORKDIR /var/lib/durastack
ENTRYPOINT ["durastack"]
CMD ["--help"]
