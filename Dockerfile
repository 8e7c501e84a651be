# The platform image used by docker-compose.yml for the API, the workers and the one-shot jobs.
FROM node:20.19.0-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends libreoffice-impress-nogui libreoffice-writer-nogui poppler-utils \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
USER node
CMD ["npm", "run", "api"]
