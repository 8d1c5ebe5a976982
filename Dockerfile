FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY phoneprovider ./phoneprovider
COPY dashboard ./dashboard
RUN pip install --no-cache-dir .
COPY . .
# Production storage (hashed names + manifest); the keys are placeholders only this step sees.
RUN DEBUG=false SECRET_KEY=collectstatic \
    FIELD_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput
EXPOSE 8000
ENV HOST=0.0.0.0
CMD ["bin/serve", "web"]
