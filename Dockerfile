# capserve on CPU (for NVIDIA GPUs see Dockerfile.cuda).
#   docker build -t capserve .
#   docker run -p 8080:8080 -e API_KEYS="ops:admin:$ADMIN_KEY,app:read:$APP_KEY" capserve
#   docker run -p 8080:8080 -e API_KEYS=file:/run/secrets/capserve-keys -v "$PWD/keys:/run/secrets/capserve-keys:ro" capserve
#   docker run --rm capserve --help   # every setting: its variable, default and meaning
# The container listens on 0.0.0.0, which other machines reach, so it needs API_KEYS (entries
# `label:role:key`, role read or admin; see docs/api.md#authentication): without them it refuses to
# start. ALLOW_UNAUTHENTICATED=1 runs it open, only behind a proxy or network that authenticates.
ARG NODE_IMAGE=node:20-bookworm-slim

# Stage 1: compile. The dev dependencies (typescript) stay in this stage.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# .npmrc keeps onnxruntime-node on the CPU binaries inside its npm package.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY core ./core
COPY models ./models
COPY capabilities ./capabilities
COPY batcher ./batcher
COPY engine ./engine
COPY server ./server
COPY jobs ./jobs
COPY store ./store
COPY training ./training
COPY review ./review
COPY scripts ./scripts
RUN npm run build

# Stage 2: what runs. Production dependencies only, the compiled code, and the files the
# default configuration reads (capabilities/default.json and its examples).
FROM ${NODE_IMAGE}
# ffmpeg (ffprobe: audio and video facts, decoding for transcription) and pocketsphinx with its
# US English model (the transcribe backend) are what /process media jobs call at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg pocketsphinx pocketsphinx-en-us \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
# Native modules (onnxruntime-node, better-sqlite3, sharp) come prebuilt for glibc on x64 and
# arm64; the compilers are there only for a platform without one, and leave with this layer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && apt-get purge -y python3 make g++ && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/dist ./dist
COPY capabilities/default.json ./capabilities/default.json
COPY capabilities/data ./capabilities/data

# No API_KEYS here: keys are secrets, passed at run time (-e API_KEYS=… or API_KEYS=file:<mounted file>).
ENV HOST=0.0.0.0 \
    PORT=8080 \
    DEVICE=cpu \
    SQLITE_PATH=/app/data/capserve.db
# Model jobs, data sets, reviews and the audit log (SQLite, unless DATABASE_URL names a PostgreSQL);
# trained models go to MODEL_REPOSITORY (models/repository): mount both to keep them.
RUN mkdir -p /app/data /app/models/repository && chown -R node:node /app/data /app/models
USER node
VOLUME ["/app/data", "/app/models/repository"]
EXPOSE 8080 9464
# Liveness: the process answers, a server on PORT or a queue worker on WORKER_PORT. Load balancers should check /health/ready, which is 503 while models load.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD node -e "const live = (port) => fetch('http://127.0.0.1:' + port + '/health').then((r) => r.ok || Promise.reject()); Promise.any([live(process.env.PORT || 8080), live(process.env.WORKER_PORT || 9464)]).then(() => process.exit(0), () => process.exit(1))"
# node is PID 1, with no npm or shell between: `docker stop`'s SIGTERM reaches the server, which
# drains and logs its shutdown. A queue worker: --entrypoint node capserve dist/server/worker.js
ENTRYPOINT ["node", "dist/server/main.js"]
