# binlog-sync daemon image: `docker build -t binlog-sync .` then
# `docker run -v $PWD/pipeline.yaml:/etc/binlog-sync/pipeline.yaml binlog-sync run --config /etc/binlog-sync/pipeline.yaml`
# NODE_IMAGE: compose/local.override.yml builds on local/node:20-bookworm-slim (scripts/build-local-images.sh)
# where no registry is reachable.
# Few instructions on purpose: the classic builder makes a container (and, with the vfs storage driver, a
# full copy of the image) for every one of them. .dockerignore lets only the sources into the context.
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE} AS build
COPY . /app/
# `npm ci` builds dist/ (the `prepare` script); then only what the daemon runs stays.
RUN cd /app && npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf src connectors bench tsconfig.json tsconfig.build.json

FROM ${NODE_IMAGE}
COPY --from=build /app /app
WORKDIR /app
ENV NODE_ENV=production LOG_FORMAT=json
USER node
ENTRYPOINT ["node", "--max-semi-space-size=16", "/app/bin/binlog-sync.js"]
CMD ["help"]
