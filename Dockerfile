# TalkHint: Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY src ./src
COPY plugins ./plugins
COPY static ./static
COPY tools ./tools
COPY fakes ./fakes
COPY bin ./bin
COPY playbook.md ./
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
ARG GIT_COMMIT
ENV GIT_COMMIT=${GIT_COMMIT}
# The same Node flags as `npm start` (package.json): a fixed 32 MB young generation (docs/operations.md, "Memory").
CMD ["node", "--min-semi-space-size=16", "--max-semi-space-size=16", "src/server.ts"]
