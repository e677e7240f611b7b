//! makemigrations
