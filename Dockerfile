# The platform image used by docker-compose.yml for the API, the workers and the one-shot jobs.
# Build stage: the whole toolchain compiles TypeScript to dist/ and bundles the workflow code once.
# Runtime stage: the same Node.js LTS, production dependencies only, compiled JavaScript, a non-root user.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY activities ./activities
COPY db ./db
COPY lib ./lib
COPY providers ./providers
COPY schemas ./schemas
COPY services ./services
COPY scripts ./scripts
COPY workers ./workers
COPY workflows ./workflows
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
  && apt-get install -y --no-install-recommends libreoffice-impress-nogui libreoffice-writer-nogui poppler-utils bubblewrap \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
CMD ["node", "dist/api/server.js"]
