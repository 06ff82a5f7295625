# The ticklake app image: one image, every process (`ticklake worker`, `ticklake process`, ...) by command.
FROM node:20-bookworm-slim
ENV NODE_ENV=production AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
USER node
ENTRYPOINT ["node", "bin/ticklake.mjs"]
CMD ["--help"]
