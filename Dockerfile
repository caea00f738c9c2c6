# binlog-sync daemon image: `docker build -t binlog-sync .` then
# `docker run -v $PWD/pipeline.yaml:/etc/binlog-sync/pipeline.yaml binlog-sync run --config /etc/binlog-sync/pipeline.yaml`
# NODE_IMAGE: compose/local.override.yml builds on local/node:20-bookworm-slim (scripts/build-local-images.sh)
# where no registry is reachable.
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY connectors ./connectors
COPY bench ./bench
COPY bin ./bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production LOG_FORMAT=json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
USER node
ENTRYPOINT ["node", "--max-semi-space-size=16", "/app/bin/binlog-sync.js"]
CMD ["help"]
