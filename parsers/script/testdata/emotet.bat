@echo off
P^Ow^er^she^L^L -w hidden -ENCOD VwByAGkAdABlAC0ATwB1AHQAcAB1AHQAIAAnAFQAUgBJAEEARwBFAC0AUgBFAEcAUgBFAFMAUwBJAE8ATgAnAA==
msg %username% /v Word experienced an error
