# casa-node-agent image: the compiled agent on Node 20, run as a non-root user.
# Build: docker build -t casa-node-agent:0.1.0 .

# --- build: compile TypeScript with the dev dependencies ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
# tsconfig includes test/ and bench/; the image only needs src/.
RUN npx tsc -p tsconfig.json --outDir dist --tsBuildInfoFile /tmp/tsbuildinfo

# --- runtime: production dependencies and the compiled JavaScript only ---
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# Numeric non-root user (matches the chart's runAsUser), so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9193
ENTRYPOINT ["node", "dist/src/agent/cli/main.js"]
CMD ["run"]
