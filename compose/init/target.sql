-- The user binlog-sync writes with (it keeps its checkpoint in the _binlog_sync database), and the
-- same tables as the source: this version does not copy DDL.
CREATE USER 'sync'@'%' IDENTIFIED WITH mysql_native_password BY 'sync-pass';
GRANT ALL PRIVILEGES ON shop.* TO 'sync'@'%';
GRANT ALL PRIVILEGES ON _binlog_sync.* TO 'sync'@'%';
CREATE DATABASE shop;
CREATE TABLE shop.orders (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  customer VARCHAR(100) NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
);
CREATE TABLE shop.customers (
  id INT PRIMARY KEY,
  email VARCHAR(200) NOT NULL UNIQUE,
  name VARCHAR(100) NOT NULL,
  orders INT NOT NULL DEFAULT 0
);
