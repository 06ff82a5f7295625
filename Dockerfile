# The ticklake app image: one image, every process (`ticklake worker`, `ticklake process`, ...) by command.
# The Node major matches .nvmrc (checked by test/unit/compose.test.ts).
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci's postinstall patches kafkajs (docs/DECISIONS.md §2).
COPY infra/node/patch-deps.mjs infra/node/
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
USER node
ENTRYPOINT ["node", "bin/ticklake.mjs"]
CMD ["--help"]
